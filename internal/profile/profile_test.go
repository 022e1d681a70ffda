package profile

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func adminProfile(home string) Profile {
	return Profile{
		Server: "https://127.0.0.1:10443", AuthorityHost: "https://127.0.0.1:10443",
		TenantID: "t-1", SubscriptionID: "s-1",
		Credential: Credential{Kind: KindAdmin, AdminTokenFile: filepath.Join(home, "admin.token")},
	}
}

func TestSaveLoadRoundTripOwnerOnly(t *testing.T) {
	home := filepath.Join(t.TempDir(), "new") // Save makes the folder
	want := File{Current: "adm", Profiles: map[string]Profile{
		"adm": adminProfile(home),
		"web": {Server: "https://lanyard.example", AuthorityHost: "https://lanyard.example", TenantID: "t", SubscriptionID: "s", CA: "PEM",
			Credential: Credential{Kind: KindAzure, ManagedIdentity: true, ClientID: "c"}},
	}}
	if err := Save(home, want); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(home, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	got, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if got.Current != "adm" || got.Profiles["web"] != want.Profiles["web"] || got.Profiles["adm"] != want.Profiles["adm"] {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	leftovers, _ := filepath.Glob(filepath.Join(home, "*.tmp"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	f, err := Load(t.TempDir())
	if err != nil || len(f.Profiles) != 0 || f.Current != "" {
		t.Fatalf("Load of an empty folder: %+v, %v", f, err)
	}
	if _, _, ok, err := f.Select(""); ok || err != nil {
		t.Errorf("Select with no profiles: ok=%v err=%v, want the local server", ok, err)
	}
	if _, _, _, err := f.Select("adm"); err == nil || !strings.Contains(err.Error(), "lanyard login") {
		t.Errorf("Select of a missing profile: %v", err)
	}
}

func TestParseIsStrict(t *testing.T) {
	good := `{"current":"a","profiles":{"a":{"server":"https://h:1","authorityHost":"https://h:1","tenantId":"t","subscriptionId":"s","credential":{"kind":"admin","adminTokenFile":"/x/admin.token"}}}}`
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("valid file refused: %v", err)
	}
	for name, tc := range map[string]struct{ raw, want string }{
		"unknown top-level key":    {strings.Replace(good, `"current"`, `"curent"`, 1), "unknown field"},
		"unknown profile key":      {strings.Replace(good, `"tenantId"`, `"tenant"`, 1), "unknown field"},
		"unknown credential key":   {strings.Replace(good, `"adminTokenFile"`, `"adminToken"`, 1), "unknown field"},
		"trailing data":            {good + `{}`, "after the JSON"},
		"current not defined":      {strings.Replace(good, `"current":"a"`, `"current":"b"`, 1), "not defined"},
		"http server":              {strings.Replace(good, `"server":"https://h:1"`, `"server":"http://h:1"`, 1), "not an https URL"},
		"no subscription":          {strings.Replace(good, `"subscriptionId":"s"`, `"subscriptionId":""`, 1), "required"},
		"unknown kind":             {strings.Replace(good, `"kind":"admin"`, `"kind":"password"`, 1), "credential kind"},
		"relative admin token":     {strings.Replace(good, `/x/admin.token`, `admin.token`, 1), "absolute"},
		"azure with a token file":  {strings.Replace(good, `"kind":"admin"`, `"kind":"azure"`, 1), "no adminTokenFile"},
		"bad profile name":         {strings.ReplaceAll(good, `"a"`, `"a b"`), "profile name"},
		"not an object":            {`[]`, "decode"},
		"client id without an MSI": {`{"profiles":{"a":{"server":"https://h","authorityHost":"https://h","tenantId":"t","subscriptionId":"s","credential":{"kind":"azure","clientId":"c"}}}}`, "managed identity"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.raw)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLoadRefusesAFileOthersMayRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	home := t.TempDir()
	if err := Save(home, File{Profiles: map[string]Profile{"a": adminProfile(home)}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(home, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(home); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Load of a 0644 file: %v, want a refusal", err)
	}
}

func TestSaveRefusesAnInvalidFile(t *testing.T) {
	home := t.TempDir()
	if err := Save(home, File{Current: "missing"}); err == nil {
		t.Fatal("Save accepted a current profile that is not defined")
	}
	if _, err := os.Stat(filepath.Join(home, FileName)); !os.IsNotExist(err) {
		t.Errorf("a refused Save wrote the file: %v", err)
	}
}
