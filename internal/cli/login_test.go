package cli

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/profile"
	"github.com/lanyard-id/lanyard/internal/runstate"
)

// TestLoginSavesAProfileThatLaterCommandsUse: login in an empty data folder learns the
// tenant from the challenge and the subscription from the list, saves only the path of the
// admin credential, and --profile then reaches the server; logout forgets it.
func TestLoginSavesAProfileThatLaterCommandsUse(t *testing.T) {
	f := newFakeAPI(t)
	st, err := runstate.Read(f.home)
	if err != nil {
		t.Fatal(err)
	}
	f.routes["GET /subscriptions"] = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer admin" {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+st.APIURL+`/tenant-1/oauth2/authorize", error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"AuthenticationFailed","message":"no"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"value":[{"subscriptionId":"sub-1","tenantId":"tenant-1"}]}`))
	}
	f.json("GET /subscriptions/sub-1/resourceGroups", 200, map[string]any{"value": []any{map[string]any{"name": "demo"}}})

	mine := t.TempDir()
	out, errOut, code := f.run("--home", mine, "login", "--server", st.APIURL, "--ca-file", st.CAFile,
		"--admin-token-file", filepath.Join(f.home, runstate.AdminTokenFile), "--profile", "adm")
	if code != 0 {
		t.Fatalf("login: %d %s", code, errOut)
	}
	var view map[string]any
	if err := json.Unmarshal([]byte(out), &view); err != nil || view["subscriptionId"] != "sub-1" || view["current"] != true {
		t.Fatalf("login printed %s (%v)", out, err)
	}
	pf, err := profile.Load(mine)
	if err != nil {
		t.Fatal(err)
	}
	p := pf.Profiles["adm"]
	if p.TenantID != "tenant-1" || p.AuthorityHost != st.APIURL || p.CA == "" || p.Credential != (profile.Credential{Kind: profile.KindAdmin, AdminTokenFile: filepath.Join(f.home, runstate.AdminTokenFile)}) {
		t.Errorf("saved profile %+v", p)
	}

	out, errOut, code = f.run("--home", mine, "--profile", "adm", "group", "list", "--query", "[].name", "-o", "tsv")
	if code != 0 || strings.TrimSpace(out) != "demo" {
		t.Fatalf("group list with the profile: %d %q %s", code, out, errOut)
	}
	// The current profile is used without --profile, until logout.
	if out, _, code := f.run("--home", mine, "group", "list", "--query", "[].name", "-o", "tsv"); code != 0 || strings.TrimSpace(out) != "demo" {
		t.Fatalf("group list with the current profile: %d %q", code, out)
	}
	if _, errOut, code := f.run("--home", mine, "logout"); code != 0 {
		t.Fatalf("logout: %s", errOut)
	}
	if _, errOut, code := f.run("--home", mine, "group", "list"); code == 0 || !strings.Contains(errOut, "no Lanyard server is running") {
		t.Errorf("after logout, group list: %d %s; want the local folder's error", code, errOut)
	}
	if _, errOut, code := f.run("--home", mine, "--profile", "adm", "group", "list"); code == 0 || !strings.Contains(errOut, `no profile "adm"`) {
		t.Errorf("a forgotten profile: %d %s", code, errOut)
	}
}

func TestLoginRefusesAWrongCredentialAndSavesNothing(t *testing.T) {
	f := newFakeAPI(t)
	st, _ := runstate.Read(f.home)
	f.routes["GET /subscriptions"] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+st.APIURL+`/tenant-1/oauth2/authorize"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"AuthenticationFailed","message":"Authentication failed."}}`))
	}
	wrong := filepath.Join(t.TempDir(), "wrong.token")
	if err := os.WriteFile(wrong, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	mine := t.TempDir()
	_, errOut, code := f.run("--home", mine, "login", "--server", st.APIURL, "--ca-file", st.CAFile, "--admin-token-file", wrong)
	if code == 0 || !strings.Contains(errOut, "AuthenticationFailed") {
		t.Fatalf("login with a wrong credential: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(mine, profile.FileName)); !os.IsNotExist(err) {
		t.Errorf("a failed login saved a profile: %v", err)
	}
}

func TestLoginFlagMistakes(t *testing.T) {
	f := newFakeAPI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"login", "--server", "https://x"}, "admin-token-file identity azure"},
		{[]string{"login", "--server", "https://x", "--identity", "--azure"}, "none of the others can be"},
		{[]string{"login", "--server", "https://x", "--azure", "--client-id", "6f1c4d2e-8a3b-4c5d-9e7f-0a1b2c3d4e5f"}, "add --identity"},
		{[]string{"login", "--server", "https://x", "--identity", "--client-id", "web"}, "a GUID"},
		{[]string{"--profile", "a b", "login", "--server", "https://x", "--identity"}, "profile name"},
		{[]string{"profile", "use"}, "--local"},
	} {
		if _, errOut, code := f.run(tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %s; want %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestSubscriptionOfReadsTheIdentitysResourceID(t *testing.T) {
	jwt := func(claims string) string {
		return "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
	}
	const sub = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	for tok, want := range map[string]string{
		jwt(`{"xms_mirid":"/subscriptions/` + sub + `/resourcegroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"}`): sub,
		jwt(`{"xms_mirid":"/subscriptions/not-a-guid/resourcegroups/demo"}`):                                                                 "",
		jwt(`{"oid":"x"}`): "",
		"not a token":      "",
	} {
		if got := subscriptionOf(tok); got != want {
			t.Errorf("subscriptionOf(%s) = %q, want %q", tok, got, want)
		}
	}
}
