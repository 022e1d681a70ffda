package blobapi

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Get and Set Container ACL: a container's stored access policies. Public access is never
// granted (Lanyard has no anonymous access, as an account with AllowBlobPublicAccess
// false), so Get answers none and Set refuses to grant any.

// RBAC actions of the container ACL operations (Azure's: not containers/read|write).
const (
	ActionContainersGetACL = actionPrefix + "containers/getAcl/action"
	ActionContainersSetACL = actionPrefix + "containers/setAcl/action"
)

var (
	opGetContainerACL = &operation{"GetContainerACL", ActionContainersGetACL, false, (*Handler).getContainerACL}
	opSetContainerACL = &operation{"SetContainerACL", ActionContainersSetACL, false, (*Handler).setContainerACL}
)

// maxACLBody bounds a Set Container ACL body: five identifiers take well under 2 KiB.
const maxACLBody = 64 << 10

// aclTimeLayout is how Azure writes stored access policy times.
const aclTimeLayout = "2006-01-02T15:04:05.0000000Z"

type signedIdentifiers struct {
	XMLName     xml.Name           `xml:"SignedIdentifiers"`
	Identifiers []signedIdentifier `xml:"SignedIdentifier"`
}

type signedIdentifier struct {
	ID           string        `xml:"Id"`
	AccessPolicy *accessPolicy `xml:"AccessPolicy"`
}

type accessPolicy struct {
	Start      string `xml:"Start,omitempty"`
	Expiry     string `xml:"Expiry,omitempty"`
	Permission string `xml:"Permission,omitempty"`
}

func (h *Handler) getContainerACL(w http.ResponseWriter, r *http.Request, t *target) error {
	c, err := h.Service.GetContainer(r.Context(), t.account, t.container)
	if err != nil {
		return err
	}
	setWritten(w.Header(), c.ETag, c.LastModified)
	if r.Method == http.MethodHead {
		return noContent(w, http.StatusOK)
	}
	out := signedIdentifiers{Identifiers: []signedIdentifier{}}
	for _, p := range c.AccessPolicies {
		out.Identifiers = append(out.Identifiers, signedIdentifier{ID: p.ID, AccessPolicy: &accessPolicy{p.Start, p.Expiry, p.Permission}})
	}
	return writeXML(w, out)
}

func (h *Handler) setContainerACL(w http.ResponseWriter, r *http.Request, t *target) error {
	if access := r.Header.Get("x-ms-blob-public-access"); access != "" {
		return &apiError{status: http.StatusConflict, code: "PublicAccessNotPermitted",
			message: "Public access is not permitted on this storage account."}
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	if _, err := contentLength(r, maxACLBody); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxACLBody))
	if err != nil {
		return err
	}
	var policies []blob.AccessPolicy
	if len(body) > 0 {
		var in signedIdentifiers
		if xml.Unmarshal(body, &in) != nil {
			return errXML()
		}
		for _, si := range in.Identifiers {
			p := blob.AccessPolicy{ID: si.ID}
			if ap := si.AccessPolicy; ap != nil {
				if p.Start, err = aclTime("Start", ap.Start); err != nil {
					return err
				}
				if p.Expiry, err = aclTime("Expiry", ap.Expiry); err != nil {
					return err
				}
				if ap.Permission != "" && !validPermissions(ap.Permission) {
					return errXMLNode("Permission", ap.Permission, "")
				}
				p.Permission = ap.Permission
			}
			policies = append(policies, p)
		}
	}
	c, err := h.Service.SetContainerACL(r.Context(), t.account, t.container, policies, cond)
	if err != nil {
		return err
	}
	setWritten(w.Header(), c.ETag, c.LastModified)
	return noContent(w, http.StatusOK)
}

// aclTime normalizes a stored access policy time to Azure's form; "" stays "".
func aclTime(node, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	t, ok := parseSASTime(v)
	if !ok {
		return "", errXMLNode(node, v, "")
	}
	return t.UTC().Format(aclTimeLayout), nil
}
