package mgmt

import (
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Microsoft.DBforPostgreSQL/flexibleServers, its administrators, and Lanyard's principals
// extension (the role bindings pgaadauth_create_principal makes on Azure).
const (
	postgresAdminType     = lanyard.TypePostgresServer + "/administrators"
	postgresPrincipalType = lanyard.TypePostgresServer + "/principals"
)

type postgresServerJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		State                    string `json:"state"`
		FullyQualifiedDomainName string `json:"fullyQualifiedDomainName"`
		AuthConfig               struct {
			ActiveDirectoryAuth string `json:"activeDirectoryAuth"`
			PasswordAuth        string `json:"passwordAuth"`
			TenantID            string `json:"tenantId"`
		} `json:"authConfig"`
		// Lanyard's own: where the front end listens, and the upstream it fronts (never
		// with its password).
		ListenAddress string     `json:"listenAddress"`
		Upstream      string     `json:"upstream"`
		UpstreamAuth  string     `json:"upstreamAuth"`
		CreatedOn     *time.Time `json:"createdOn,omitempty"`
	} `json:"properties"`
}

func (h *Handler) postgresServer(s lanyard.PostgresServer) postgresServerJSON {
	out := postgresServerJSON{ID: s.ResourceID, Name: s.Name, Type: lanyard.TypePostgresServer, Location: s.Location, Tags: tagsOrEmpty(s.Tags)}
	p := &out.Properties
	p.State = "Ready"
	p.FullyQualifiedDomainName, _, _ = net.SplitHostPort(s.Listen)
	p.AuthConfig.ActiveDirectoryAuth, p.AuthConfig.PasswordAuth, p.AuthConfig.TenantID = "Enabled", "Disabled", h.tenant()
	p.ListenAddress, p.Upstream, p.UpstreamAuth = s.Listen, s.Upstream, string(s.UpstreamAuth)
	if !s.CreatedAt.IsZero() {
		p.CreatedOn = &s.CreatedAt
	}
	return out
}

// postgresServerBody is what PUT accepts: ARM's resource, with Lanyard's properties.
type postgresServerBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Upstream      string `json:"upstream"`
		ListenAddress string `json:"listenAddress"`
		UpstreamAuth  string `json:"upstreamAuth"`
	} `json:"properties"`
}

// postgres returns the PostgreSQL service, or 503 on a server built without it.
func (h *Handler) postgres() (*directory.Postgres, error) {
	if h.Postgres == nil {
		return nil, lanyard.Errorf(lanyard.KindUnavailable, "This server does not serve PostgreSQL.").WithCode("ServiceUnavailable")
	}
	return h.Postgres, nil
}

func (h *Handler) listPostgresServers(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, err := h.postgres()
	if err != nil {
		return err
	}
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "flexibleServers")
	if err != nil {
		return err
	}
	ss, next, err := storePage(p, func(s lanyard.PostgresServer) string { return s.ResourceID }, func(after string, limit int) ([]lanyard.PostgresServer, error) {
		return pg.ListServersPage(r.Context(), group, after, limit)
	})
	if err != nil {
		return err
	}
	writePage(w, r, p, views(ss, h.postgresServer), next)
	return nil
}

func (h *Handler) putPostgresServer(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, err := h.postgres()
	if err != nil {
		return err
	}
	var body postgresServerBody
	if err := decode(r, &body); err != nil {
		return err
	}
	s, created, err := pg.PutServer(r.Context(), args[1], args[2], directory.PostgresServerSpec{
		Location: body.Location, Tags: body.Tags, Upstream: body.Properties.Upstream, Listen: body.Properties.ListenAddress,
		UpstreamAuth: lanyard.PostgresUpstreamAuth(body.Properties.UpstreamAuth),
	})
	return h.reply(w, createdStatus(created), h.postgresServer(s), err)
}

// patchPostgresServer changes the tags of an existing server; it never creates one.
func (h *Handler) patchPostgresServer(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, err := h.postgres()
	if err != nil {
		return err
	}
	var body resourceBody
	if err := decode(r, &body); err != nil {
		return err
	}
	s, err := pg.UpdateServerTags(r.Context(), args[1], args[2], body.Tags)
	return h.reply(w, http.StatusOK, h.postgresServer(s), err)
}

func (h *Handler) getPostgresServer(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, err := h.postgres()
	if err != nil {
		return err
	}
	s, err := pg.GetServer(r.Context(), args[1], args[2])
	return h.reply(w, http.StatusOK, h.postgresServer(s), err)
}

func (h *Handler) deletePostgresServer(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, err := h.postgres()
	if err != nil {
		return err
	}
	err = pg.DeleteServer(r.Context(), args[1], args[2])
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// serverOf finds the server a path names: group args[1], name args[2]. A server of that
// name in another group is not found, so nothing under it is reachable through this path.
func (h *Handler) serverOf(r *http.Request, args []string) (*directory.Postgres, lanyard.PostgresServer, error) {
	pg, err := h.postgres()
	if err != nil {
		return nil, lanyard.PostgresServer{}, err
	}
	s, err := pg.GetServer(r.Context(), args[1], args[2])
	return pg, s, err
}

// Administrators.

type postgresAdminJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		PrincipalType string `json:"principalType"`
		PrincipalName string `json:"principalName"`
		ObjectID      string `json:"objectId"`
		TenantID      string `json:"tenantId"`
	} `json:"properties"`
}

func (h *Handler) postgresAdmin(b lanyard.PostgresPrincipal) postgresAdminJSON {
	out := postgresAdminJSON{ID: b.ServerID + "/administrators/" + b.ObjectID, Name: b.ObjectID, Type: postgresAdminType}
	out.Properties.PrincipalType, out.Properties.PrincipalName = armPrincipalType(b.Type), b.Role
	out.Properties.ObjectID, out.Properties.TenantID = b.ObjectID, h.tenant()
	return out
}

// armPrincipalType is ARM's name for a pgaadauth principal type.
func armPrincipalType(t lanyard.PostgresPrincipalType) string {
	switch t {
	case lanyard.PostgresUser:
		return "User"
	case lanyard.PostgresGroup:
		return "Group"
	case lanyard.PostgresService:
		return "ServicePrincipal"
	}
	return "Unknown"
}

func (h *Handler) listPostgresAdmins(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err != nil {
		return err
	}
	p, err := parsePage(r, "administrators")
	if err != nil {
		return err
	}
	bs, err := pg.ListAdmins(r.Context(), s.ResourceID)
	if err != nil {
		return err
	}
	page, next := pageOf(bs, func(b lanyard.PostgresPrincipal) string { return b.ObjectID }, p)
	writePage(w, r, p, views(page, h.postgresAdmin), next)
	return nil
}

func (h *Handler) putPostgresAdmin(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err != nil {
		return err
	}
	var body struct {
		Properties struct {
			PrincipalType string `json:"principalType"`
			PrincipalName string `json:"principalName"`
			TenantID      string `json:"tenantId"`
		} `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p := body.Properties
	if p.PrincipalType != "" && !strings.EqualFold(p.PrincipalType, "ServicePrincipal") {
		return lanyard.Errorf(lanyard.KindInvalid, "The principal type '%s' is not supported: Lanyard's administrators are managed identities (ServicePrincipal).", clip(p.PrincipalType)).WithCode("InvalidParameter")
	}
	if p.TenantID != "" && !strings.EqualFold(p.TenantID, h.tenant()) {
		return lanyard.Errorf(lanyard.KindInvalid, "The tenant '%s' is not this server's tenant.", clip(p.TenantID)).WithCode("InvalidParameter")
	}
	if uuid.Validate(args[3]) != nil {
		return lanyard.Errorf(lanyard.KindInvalid, "The administrator's name '%s' is not an object id.", clip(args[3])).WithCode("InvalidParameter")
	}
	b, created, err := pg.PutAdmin(r.Context(), s.ResourceID, args[3], p.PrincipalName)
	return h.reply(w, createdStatus(created), h.postgresAdmin(b), err)
}

func (h *Handler) getPostgresAdmin(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err != nil {
		return err
	}
	b, err := pg.GetAdmin(r.Context(), s.ResourceID, args[3])
	return h.reply(w, http.StatusOK, h.postgresAdmin(b), err)
}

func (h *Handler) deletePostgresAdmin(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err == nil {
		err = pg.DeleteAdmin(r.Context(), s.ResourceID, args[3])
	}
	return deleted(w, err)
}

// deleted answers a DELETE as ARM does: 200 when something went, 204 when there was
// nothing to delete.
func deleted(w http.ResponseWriter, err error) error {
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// Principals: Lanyard's extension, .../flexibleServers/{s}/principals/{role}.

type postgresPrincipalJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		RoleName      string     `json:"roleName"`
		ObjectID      string     `json:"objectId"`
		PrincipalType string     `json:"principalType"` // user, group or service, as pgaadauth writes it
		IsAdmin       bool       `json:"isAdmin"`
		CreatedOn     *time.Time `json:"createdOn,omitempty"`
	} `json:"properties"`
}

func postgresPrincipal(b lanyard.PostgresPrincipal) postgresPrincipalJSON {
	out := postgresPrincipalJSON{ID: b.ServerID + "/principals/" + b.Role, Name: b.Role, Type: postgresPrincipalType}
	p := &out.Properties
	p.RoleName, p.ObjectID, p.PrincipalType, p.IsAdmin = b.Role, b.ObjectID, string(b.Type), b.Admin
	if !b.CreatedAt.IsZero() {
		p.CreatedOn = &b.CreatedAt
	}
	return out
}

func (h *Handler) listPostgresPrincipals(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err != nil {
		return err
	}
	p, err := parsePage(r, "principals")
	if err != nil {
		return err
	}
	bs, err := pg.ListPrincipals(r.Context(), s.ResourceID)
	if err != nil {
		return err
	}
	// Roles are case-sensitive and pages key on lower case: key on the role's bytes.
	page, next := pageOf(bs, func(b lanyard.PostgresPrincipal) string { return hex.EncodeToString([]byte(b.Role)) }, p)
	writePage(w, r, p, views(page, postgresPrincipal), next)
	return nil
}

// putPostgresPrincipal binds role args[3]. Binding an identity of any group is fine: it
// grants the identity a login to this server, nothing to the caller, and only who may
// write this server's administrators may do it.
func (h *Handler) putPostgresPrincipal(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err != nil {
		return err
	}
	var body struct {
		Properties struct {
			ObjectID      string `json:"objectId"`
			PrincipalType string `json:"principalType"`
			IsAdmin       bool   `json:"isAdmin"`
		} `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p := body.Properties
	typ := lanyard.PostgresPrincipalType(strings.ToLower(p.PrincipalType))
	if typ == "serviceprincipal" {
		typ = lanyard.PostgresService
	}
	// PUT is idempotent: the same binding again is answered as it is.
	if b, err := pg.GetPrincipal(r.Context(), s.ResourceID, args[3]); err == nil {
		if (p.ObjectID == "" || strings.EqualFold(p.ObjectID, b.ObjectID)) && (typ == "" || typ == b.Type) && p.IsAdmin == b.Admin {
			return h.reply(w, http.StatusOK, postgresPrincipal(b), nil)
		}
		return lanyard.Errorf(lanyard.KindConflict, "The role '%s' is bound to another principal; delete it first.", clip(args[3])).WithCode("Conflict")
	} else if !lanyard.IsNotFound(err) {
		return err
	}
	b, err := pg.CreatePrincipal(r.Context(), s.ResourceID, args[3], p.ObjectID, typ, p.IsAdmin)
	return h.reply(w, http.StatusCreated, postgresPrincipal(b), err)
}

func (h *Handler) getPostgresPrincipal(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err != nil {
		return err
	}
	b, err := pg.GetPrincipal(r.Context(), s.ResourceID, args[3])
	return h.reply(w, http.StatusOK, postgresPrincipal(b), err)
}

func (h *Handler) deletePostgresPrincipal(w http.ResponseWriter, r *http.Request, args []string) error {
	pg, s, err := h.serverOf(r, args)
	if err == nil {
		err = pg.DropPrincipal(r.Context(), s.ResourceID, args[3])
	}
	return deleted(w, err)
}
