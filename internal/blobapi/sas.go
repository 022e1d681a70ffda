package blobapi

import (
	"net/http"
	"net/url"
	"time"
)

// Shared access signatures. Only the user delegation SAS is served (signed with a key
// from Get User Delegation Key, skoid present): account and service SAS are signed with
// account keys, which Lanyard's accounts do not have, and are refused as Azure refuses
// them on an account with shared key access disabled.

// sasParams are a SAS's query parameters, as sent (the signature covers them verbatim).
type sasParams struct {
	version, resource, permissions, start, expiry, ip, protocol, sig, identifier string
	// The user delegation key.
	keyOID, keyTID, keyStart, keyExpiry, keyService, keyVersion string
	// Delegation to other principals, and what they mean for ADLS ACLs.
	keyDelegatedTID, delegatedOID, authorizedOID, unauthorizedOID, correlationID string
	encryptionScope, directoryDepth, snapshot, requestHeaders, requestQuery      string
	// Response header overrides.
	cacheControl, contentDisposition, contentEncoding, contentLanguage, contentType string
	// accountSAS is set when account SAS parameters (ss, srt) are present.
	accountSAS bool
}

// field returns where the SAS query parameter name goes, nil for a parameter that is
// not one. (A switch rather than a table of functions, so that parsing leaves p where
// its caller has it, off the heap.)
func (p *sasParams) field(name string) *string {
	switch name {
	case "sv":
		return &p.version
	case "sr":
		return &p.resource
	case "sp":
		return &p.permissions
	case "st":
		return &p.start
	case "se":
		return &p.expiry
	case "sip":
		return &p.ip
	case "spr":
		return &p.protocol
	case "sig":
		return &p.sig
	case "si":
		return &p.identifier
	case "skoid":
		return &p.keyOID
	case "sktid":
		return &p.keyTID
	case "skt":
		return &p.keyStart
	case "ske":
		return &p.keyExpiry
	case "sks":
		return &p.keyService
	case "skv":
		return &p.keyVersion
	case "skdutid":
		return &p.keyDelegatedTID
	case "sduoid":
		return &p.delegatedOID
	case "saoid":
		return &p.authorizedOID
	case "suoid":
		return &p.unauthorizedOID
	case "scid":
		return &p.correlationID
	case "ses":
		return &p.encryptionScope
	case "sdd":
		return &p.directoryDepth
	case "snapshot":
		return &p.snapshot
	case "srh":
		return &p.requestHeaders
	case "srq":
		return &p.requestQuery
	case "rscc":
		return &p.cacheControl
	case "rscd":
		return &p.contentDisposition
	case "rsce":
		return &p.contentEncoding
	case "rscl":
		return &p.contentLanguage
	case "rsct":
		return &p.contentType
	}
	return nil
}

// maxSASParam bounds each SAS parameter: the longest legitimate ones (overrides) are
// header values, which no client makes kilobytes long.
const maxSASParam = 2048

// parse reads the SAS parameters of q, which has sig, into p. A parameter given twice, or
// too long, makes the SAS malformed (the first such by name is the one answered).
func (p *sasParams) parse(q url.Values) error {
	bad := ""
	for name, vs := range q {
		dst := p.field(name)
		switch {
		case dst == nil:
		case len(vs) != 1 || len(vs[0]) > maxSASParam:
			if bad == "" || name < bad {
				bad = name
			}
		default:
			*dst = vs[0]
		}
	}
	if bad != "" {
		return sasFailed("The value of query parameter " + bad + " is not valid.")
	}
	p.accountSAS = q.Has("ss") || q.Has("srt")
	return nil
}

// sasFailed is Azure's answer to a SAS that does not authenticate.
func sasFailed(detail string) error {
	return &apiError{status: http.StatusForbidden, code: "AuthenticationFailed", message: authMessages["AuthenticationFailed"],
		details: [][2]string{{"AuthenticationErrorDetail", detail}}}
}

// errKeyBased refuses what only an account key could have signed.
func errKeyBased() error {
	return &apiError{status: http.StatusForbidden, code: "KeyBasedAuthenticationNotPermitted",
		message: "Key based authentication is not permitted on this storage account."}
}

// Service versions whose string-to-sign adds fields (azure-sdk-for-js
// BlobSASSignatureValues, azure-sdk-for-go sas/service.go).
const (
	sasMinVersion       = "2020-12-06" // signed encryption scope; the oldest layout served
	sasDelegatedVersion = "2025-07-05" // signedKeyDelegatedUserTenantId, signedDelegatedUserObjectId
	sasRequestVersion   = "2026-04-06" // signed request headers and query parameters
)

// appendStringToSign appends to b the user delegation SAS string-to-sign of p's service
// version for blob (or container, by p.resource) of account, whose canonical name is
// /blob/{account}/{container}[/{blob}]. It is built in one buffer, as it is on every SAS
// request, sometimes twice.
func (p *sasParams) appendStringToSign(b []byte, account, container, blobName string) []byte {
	b = append(b, p.permissions...)
	b = append(b, '\n')
	b = append(b, p.start...)
	b = append(b, '\n')
	b = append(b, p.expiry...)
	b = append(b, "\n/blob/"...)
	b = append(b, account...)
	b = append(b, '/')
	b = append(b, container...)
	if p.resource != "c" {
		b = append(b, '/')
		b = append(b, blobName...)
	}
	field := func(s string) {
		b = append(b, '\n')
		b = append(b, s...)
	}
	for _, s := range [...]string{p.keyOID, p.keyTID, p.keyStart, p.keyExpiry, p.keyService, p.keyVersion,
		p.authorizedOID, p.unauthorizedOID, p.correlationID} {
		field(s)
	}
	if p.version >= sasDelegatedVersion {
		field(p.keyDelegatedTID)
		field(p.delegatedOID)
	}
	for _, s := range [...]string{p.ip, p.protocol, p.version, p.resource, p.snapshot, p.encryptionScope} {
		field(s)
	}
	if p.version >= sasRequestVersion {
		field(p.requestHeaders)
		field(p.requestQuery)
	}
	for _, s := range [...]string{p.cacheControl, p.contentDisposition, p.contentEncoding, p.contentLanguage, p.contentType} {
		field(s)
	}
	return b
}

// sasTimeLayouts are the ISO 8601 forms Azure accepts in SAS times.
var sasTimeLayouts = []string{"2006-01-02T15:04:05Z", "2006-01-02T15:04:05.9999999Z", "2006-01-02T15:04Z", "2006-01-02"}

func parseSASTime(s string) (time.Time, bool) {
	for _, l := range sasTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// httpDate formats t as Azure's SAS messages do.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
