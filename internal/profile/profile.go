// Package profile stores the CLI's named connections to Lanyard servers (lanyard login), in
// profiles.json in the data folder. A profile holds no secret: the admin credential stays in
// its own file, which the profile names, and an Azure credential gets a token at each command.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"

	"github.com/lanyard-id/lanyard/internal/durable"
)

// FileName is the profiles file's name inside the data folder.
const FileName = "profiles.json"

// The credential kinds a profile may hold.
const (
	// KindAdmin presents the admin credential read from AdminTokenFile.
	KindAdmin = "admin"
	// KindAzure gets a token from the Azure SDK's credentials (azidentity).
	KindAzure = "azure"
)

// File is the whole profiles file.
type File struct {
	// Current is the profile used when neither --profile nor LANYARD_PROFILE names one.
	Current  string             `json:"current,omitempty"`
	Profiles map[string]Profile `json:"profiles"`
}

// Profile is one server and how to authenticate to it.
type Profile struct {
	// Server is the management API's URL, e.g. https://lanyard.example:10443.
	Server string `json:"server"`
	// CA is the PEM pinned at login; empty trusts the system roots (and SSL_CERT_FILE).
	CA string `json:"ca,omitempty"`
	// AuthorityHost is the authority the server's 401 challenge named; Azure credentials
	// that sign in (rather than ask a managed-identity endpoint) go there.
	AuthorityHost  string     `json:"authorityHost"`
	TenantID       string     `json:"tenantId"`
	SubscriptionID string     `json:"subscriptionId"`
	Credential     Credential `json:"credential"`
}

// Credential says how a profile authenticates.
type Credential struct {
	Kind string `json:"kind"` // KindAdmin or KindAzure
	// AdminTokenFile (admin) is read at each command, so the secret is never copied.
	AdminTokenFile string `json:"adminTokenFile,omitempty"`
	// ManagedIdentity (azure) uses ManagedIdentityCredential instead of DefaultAzureCredential.
	ManagedIdentity bool `json:"managedIdentity,omitempty"`
	// ClientID (azure, managed identity) names a user-assigned identity.
	ClientID string `json:"clientId,omitempty"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName refuses a profile name that would be awkward on a command line or in a file.
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("profile name %q: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Validate checks that p is complete and consistent.
func (p Profile) Validate() error {
	for _, u := range []struct{ name, value string }{{"server", p.Server}, {"authorityHost", p.AuthorityHost}} {
		parsed, err := url.Parse(u.value)
		if err != nil || parsed.Scheme != "https" || parsed.Host == "" {
			return fmt.Errorf("%s %q is not an https URL", u.name, u.value)
		}
	}
	if p.TenantID == "" || p.SubscriptionID == "" {
		return errors.New("tenantId and subscriptionId are required")
	}
	c := p.Credential
	switch c.Kind {
	case KindAdmin:
		if c.AdminTokenFile == "" || !filepath.IsAbs(c.AdminTokenFile) {
			return fmt.Errorf("credential %s needs an absolute adminTokenFile", c.Kind)
		}
		if c.ManagedIdentity || c.ClientID != "" {
			return fmt.Errorf("credential %s takes no managedIdentity or clientId", c.Kind)
		}
	case KindAzure:
		if c.AdminTokenFile != "" {
			return fmt.Errorf("credential %s takes no adminTokenFile", c.Kind)
		}
		if c.ClientID != "" && !c.ManagedIdentity {
			return fmt.Errorf("credential %s: clientId is for a managed identity", c.Kind)
		}
	default:
		return fmt.Errorf("credential kind %q: use %s or %s", c.Kind, KindAdmin, KindAzure)
	}
	return nil
}

// Validate checks every profile and that Current names one of them.
func (f File) Validate() error {
	for _, name := range f.Names() {
		if err := CheckName(name); err != nil {
			return err
		}
		if err := f.Profiles[name].Validate(); err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
	}
	if _, ok := f.Profiles[f.Current]; f.Current != "" && !ok {
		return fmt.Errorf("current profile %q is not defined", f.Current)
	}
	return nil
}

// Names returns the profile names, sorted.
func (f File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Select returns the profile named name, or the current one when name is empty. ok is
// false when name is empty and there is no current profile: the CLI then uses the server
// of its own data folder.
func (f File) Select(name string) (string, Profile, bool, error) {
	if name == "" {
		name = f.Current
		if name == "" {
			return "", Profile{}, false, nil
		}
	}
	p, ok := f.Profiles[name]
	if !ok {
		return "", Profile{}, false, fmt.Errorf("no profile %q: log in with `lanyard login --server URL --profile %s`, or see `lanyard profile list`", name, name)
	}
	return name, p, true, nil
}

// Load reads the profiles file in home. A missing file is an empty File. The file is parsed
// strictly, and refused when others may read or write it: it decides whom the CLI trusts.
func Load(home string) (File, error) {
	path := filepath.Join(home, FileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return File{Profiles: map[string]Profile{}}, nil
	}
	if err != nil {
		return File{}, fmt.Errorf("read profiles: %w", err)
	}
	if runtime.GOOS != "windows" {
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			return File{}, fmt.Errorf("profiles file %s has mode %v: others may read or change it; run chmod 600 %s", path, info.Mode().Perm(), path)
		}
	}
	f, err := Parse(raw)
	if err != nil {
		return File{}, fmt.Errorf("profiles file %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes a profiles file strictly: unknown keys, trailing data and incomplete
// profiles are errors, so that a typo never silently changes whom the CLI talks to.
func Parse(raw []byte) (File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return File{}, errors.New("decode: data after the JSON object")
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	if err := f.Validate(); err != nil {
		return File{}, err
	}
	return f, nil
}

// Save writes f to home atomically, readable by its owner only.
func Save(home string, f File) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode profiles: %w", err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(home, FileName), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write profiles: %w", err)
	}
	return nil
}
