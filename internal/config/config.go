// Package config reads Lanyard's configuration file strictly (an unknown key is an error),
// applies defaults and checks it, producing the typed Config the server is built from.
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// File is the on-disk schema. Every field is optional.
type File struct {
	// Home is the data folder (keys, CA, embedded store, blob content).
	Home string `json:"home"`
	// TenantID fixes the tenant id on first start; later starts must agree with it.
	TenantID string `json:"tenantId"`
	// Store is "sqlite" (the embedded store in Home, the default), "sqlite:PATH", or a
	// postgres:// URL.
	Store  string `json:"store"`
	Listen struct {
		API  string `json:"api"`  // authority and management API, HTTPS
		MSI  string `json:"msi"`  // managed-identity endpoint, HTTP on loopback
		Blob string `json:"blob"` // Blob service, HTTPS
	} `json:"listen"`
	// PublicHost is the host name put in URLs (issuer, endpoints); default 127.0.0.1.
	PublicHost string `json:"publicHost"`
	// PublicAPIURL is the URL the API is reached by, put in the token issuer and the
	// discovery documents; default https://{publicHost}:{api port}. Nodes serving as one
	// behind a shared name must all set it to that name.
	PublicAPIURL string `json:"publicApiUrl"`
	// BlobContentDir holds blob content; nodes sharing a store must share it too.
	// Default {home}/blob/content.
	BlobContentDir string `json:"blobContentDir"`
	// BlobRehydrateDelay is a Go duration: how long a blob's rehydration from the
	// Archive tier takes (Azure: hours); default 10s, 0 for at once, at most 24h.
	BlobRehydrateDelay string `json:"blobRehydrateDelay"`
	// TLSNames are extra DNS names or IPs for the server certificate.
	TLSNames []string `json:"tlsNames"`
	// AllowNonLoopback must be set to listen on anything but loopback.
	AllowNonLoopback bool `json:"allowNonLoopback"`
	// TokenLifetime is a Go duration, at most 24h; default 1h.
	TokenLifetime string `json:"tokenLifetime"`
	// StoreGracePeriod is how long a node keeps serving from memory (validating tokens,
	// issuing managed-identity tokens) after losing a shared store; default 5m.
	StoreGracePeriod string `json:"storeGracePeriod"`
	Log              struct {
		Format string `json:"format"` // text or json
		Level  string `json:"level"`  // debug, info, warn, error
	} `json:"log"`
	// Federation configures workload identity federation.
	Federation struct {
		// TrustedCAFile is a PEM file of certificate authorities trusted, besides the
		// system roots and Lanyard's own CA, when fetching the keys of assertion issuers.
		TrustedCAFile string `json:"trustedCAFile"`
		// AllowedIssuerNetworks are CIDRs (or single addresses) whose loopback,
		// link-local, private or CGNAT addresses issuers' metadata may be fetched from;
		// by default no such address is contacted. Lanyard's own issuer needs no entry.
		AllowedIssuerNetworks []string `json:"allowedIssuerNetworks"`
	} `json:"federation"`
	// Audit configures the audit trail; see AuditFile.
	Audit AuditFile `json:"audit"`
	// Postgres configures this node's PostgreSQL front ends.
	Postgres struct {
		// BindHost, when set, replaces the host of every PostgreSQL server's listen address
		// on this node, so that two nodes on one machine can front the same servers
		// (127.0.0.1 and 127.0.0.2, same ports).
		BindHost string `json:"bindHost"`
	} `json:"postgres"`
	// ServiceBus configures the AMQP listeners of Service Bus namespaces.
	ServiceBus struct {
		// DefaultListen is the address a namespace created without one listens on while it
		// is free (port 0: always a free port); default 127.0.0.1:5671, AMQPS's port.
		DefaultListen string `json:"defaultListen"`
		// BindHost is as postgres.bindHost, for namespaces.
		BindHost string `json:"bindHost"`
	} `json:"serviceBus"`
	// Limits bound what clients can hold of the listeners.
	Limits struct {
		// MaxConnections caps each listener's connections served at once; further ones
		// wait until one closes. Defaults: DefaultMaxConnections.
		MaxConnections struct {
			API  int `json:"api"`
			MSI  int `json:"msi"`
			Blob int `json:"blob"`
		} `json:"maxConnections"`
	} `json:"limits"`
}

// Config is the validated, typed configuration.
type Config struct {
	Home           string
	TenantID       string
	Store          string
	APIAddr        string
	MSIAddr        string
	BlobAddr       string
	PublicHost     string
	PublicAPIURL   string
	BlobContentDir string
	// BlobRehydrateDelay is blobRehydrateDelay (0: at once).
	BlobRehydrateDelay time.Duration
	TLSNames           []string
	TrustedCAFile      string // federation.trustedCAFile
	// AllowedIssuerNetworks is federation.allowedIssuerNetworks.
	AllowedIssuerNetworks []netip.Prefix
	Audit                 Audit
	TokenLifetime         time.Duration
	StoreGracePeriod      time.Duration
	LogFormat             string
	LogLevel              string
	// MaxConns caps each listener's concurrent connections (limits.maxConnections).
	MaxConns PerListener
	// AllowNonLoopback lets listeners, PostgreSQL front ends included, bind beyond loopback.
	AllowNonLoopback bool
	// PostgresBindHost is postgres.bindHost.
	PostgresBindHost string
	// ServiceBusDefaultListen and ServiceBusBindHost are serviceBus.defaultListen and
	// serviceBus.bindHost.
	ServiceBusDefaultListen string
	ServiceBusBindHost      string
}

// DefaultBlobRehydrateDelay is blobRehydrateDelay's default: short, for Azure's hours
// would only stall development and tests.
const DefaultBlobRehydrateDelay = 10 * time.Second

// DefaultServiceBusListen is where the first namespace listens: AMQPS's port.
const DefaultServiceBusListen = "127.0.0.1:5671"

// PerListener holds one value per listener.
type PerListener struct{ API, MSI, Blob int }

// Defaults.
const (
	DefaultAPIAddr  = "127.0.0.1:10443"
	DefaultMSIAddr  = "127.0.0.1:10080"
	DefaultBlobAddr = "127.0.0.1:10000"
	// DefaultStoreGracePeriod is how long memory is trusted after a shared store is lost.
	DefaultStoreGracePeriod = 5 * time.Minute
	maxFileSize             = 1 << 20
	// maxConnectionsCeiling bounds limits.maxConnections: each connection costs a file
	// descriptor, and a cap beyond the usual descriptor limit caps nothing.
	maxConnectionsCeiling = 1 << 20
)

// DefaultMaxConnections are the connection caps by default. Managed-identity clients are
// the processes of this machine, polling for tokens over short requests: fewer suffice.
var DefaultMaxConnections = PerListener{API: 1024, MSI: 256, Blob: 1024}

// DefaultHome returns $LANYARD_HOME, or ~/.lanyard.
func DefaultHome() string {
	if h := os.Getenv("LANYARD_HOME"); h != "" {
		return h
	}
	if dir, err := os.UserHomeDir(); err == nil {
		return filepath.Join(dir, ".lanyard")
	}
	return ".lanyard"
}

// Load reads and validates the file at path.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	if len(raw) > maxFileSize {
		return Config{}, fmt.Errorf("config %s is larger than 1 MiB", path)
	}
	file, err := Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return file.Resolve()
}

// Parse decodes raw strictly: unknown keys and trailing data are errors.
func Parse(raw []byte) (File, error) {
	var file File
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return File{}, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return File{}, fmt.Errorf("decode: unexpected data after the configuration object")
	}
	return file, nil
}

// Resolve applies defaults and validates.
func (f File) Resolve() (Config, error) {
	c := Config{
		Home: f.Home, TenantID: f.TenantID, Store: f.Store,
		APIAddr: f.Listen.API, MSIAddr: f.Listen.MSI, BlobAddr: f.Listen.Blob,
		PublicHost: f.PublicHost, PublicAPIURL: strings.TrimSuffix(f.PublicAPIURL, "/"), BlobContentDir: f.BlobContentDir, TLSNames: f.TLSNames,
		LogFormat: f.Log.Format, LogLevel: f.Log.Level, TokenLifetime: lanyard.DefaultTokenLifetime,
		StoreGracePeriod: DefaultStoreGracePeriod,
		AllowNonLoopback: f.AllowNonLoopback, PostgresBindHost: f.Postgres.BindHost,
		ServiceBusDefaultListen: f.ServiceBus.DefaultListen, ServiceBusBindHost: f.ServiceBus.BindHost,
	}
	if c.ServiceBusDefaultListen == "" {
		c.ServiceBusDefaultListen = DefaultServiceBusListen
	}
	c.TrustedCAFile = f.Federation.TrustedCAFile
	mc := f.Limits.MaxConnections
	c.MaxConns = PerListener{API: orDefault(mc.API, DefaultMaxConnections.API),
		MSI: orDefault(mc.MSI, DefaultMaxConnections.MSI), Blob: orDefault(mc.Blob, DefaultMaxConnections.Blob)}
	for _, n := range f.Federation.AllowedIssuerNetworks {
		p, err := parseNetwork(n)
		if err != nil {
			return c, fmt.Errorf("federation.allowedIssuerNetworks: %w", err)
		}
		c.AllowedIssuerNetworks = append(c.AllowedIssuerNetworks, p)
	}
	audit, err := f.Audit.resolve()
	if err != nil {
		return c, err
	}
	c.Audit = audit
	if c.Home == "" {
		c.Home = DefaultHome()
	}
	if c.Store == "" {
		c.Store = "sqlite"
	}
	if c.BlobContentDir == "" {
		c.BlobContentDir = filepath.Join(c.Home, "blob", "content")
	}
	if c.APIAddr == "" {
		c.APIAddr = DefaultAPIAddr
	}
	if c.MSIAddr == "" {
		c.MSIAddr = DefaultMSIAddr
	}
	if c.BlobAddr == "" {
		c.BlobAddr = DefaultBlobAddr
	}
	if c.PublicHost == "" {
		c.PublicHost = "127.0.0.1"
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if f.StoreGracePeriod != "" {
		d, err := time.ParseDuration(f.StoreGracePeriod)
		if err != nil {
			return c, fmt.Errorf("storeGracePeriod: %w", err)
		}
		c.StoreGracePeriod = d
	}
	c.BlobRehydrateDelay = DefaultBlobRehydrateDelay
	if f.BlobRehydrateDelay != "" {
		d, err := time.ParseDuration(f.BlobRehydrateDelay)
		if err != nil {
			return c, fmt.Errorf("blobRehydrateDelay: %w", err)
		}
		c.BlobRehydrateDelay = d
	}
	if f.TokenLifetime != "" {
		d, err := time.ParseDuration(f.TokenLifetime)
		if err != nil {
			return c, fmt.Errorf("tokenLifetime: %w", err)
		}
		c.TokenLifetime = d
	}
	return c, c.Validate(f.AllowNonLoopback)
}

// Validate checks c; listeners must be on loopback unless allowNonLoopback.
func (c Config) Validate(allowNonLoopback bool) error {
	if c.TokenLifetime < 5*time.Minute || c.TokenLifetime > lanyard.MaxTokenLifetime {
		return fmt.Errorf("tokenLifetime %s: must be between 5m and 24h", c.TokenLifetime)
	}
	if c.BlobRehydrateDelay < 0 || c.BlobRehydrateDelay > 24*time.Hour {
		return fmt.Errorf("blobRehydrateDelay %s: must be between 0 and 24h", c.BlobRehydrateDelay)
	}
	for name, addr := range map[string]string{"listen.api": c.APIAddr, "listen.msi": c.MSIAddr, "listen.blob": c.BlobAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%s %q: %w", name, addr, err)
		}
		if !allowNonLoopback && !IsLoopback(host) {
			return fmt.Errorf("%s %q is not a loopback address; set allowNonLoopback to listen beyond this machine", name, addr)
		}
	}
	for name, h := range map[string]string{"postgres.bindHost": c.PostgresBindHost, "serviceBus.bindHost": c.ServiceBusBindHost} {
		if h != "" && net.ParseIP(h) == nil && h != "localhost" {
			return fmt.Errorf("%s %q: must be an IP address", name, h)
		}
		if h != "" && !allowNonLoopback && !IsLoopback(h) {
			return fmt.Errorf("%s %q is not a loopback address; set allowNonLoopback to listen beyond this machine", name, h)
		}
	}
	if addr := c.ServiceBusDefaultListen; addr != "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("serviceBus.defaultListen %q: %w", addr, err)
		}
		if !allowNonLoopback && !IsLoopback(host) {
			return fmt.Errorf("serviceBus.defaultListen %q is not a loopback address; set allowNonLoopback to listen beyond this machine", addr)
		}
	}
	for name, n := range map[string]int{"api": c.MaxConns.API, "msi": c.MaxConns.MSI, "blob": c.MaxConns.Blob} {
		if n < 1 || n > maxConnectionsCeiling {
			return fmt.Errorf("limits.maxConnections.%s %d: must be between 1 and %d", name, n, maxConnectionsCeiling)
		}
	}
	if c.PublicAPIURL != "" && !strings.HasPrefix(c.PublicAPIURL, "https://") {
		return fmt.Errorf("publicApiUrl %q: must be an https:// URL (the SDKs refuse any other authority)", c.PublicAPIURL)
	}
	if c.TenantID != "" && !validTenant(c.TenantID) {
		return fmt.Errorf("tenantId %q: use only letters, digits, '.' and '-'", c.TenantID)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log.format %q: use text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: use debug, info, warn or error", c.LogLevel)
	}
	if c.Store != "sqlite" && !strings.HasPrefix(c.Store, "sqlite:") && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		return fmt.Errorf("store %q: use sqlite, sqlite:PATH or a postgres:// URL", c.Store)
	}
	return nil
}

// orDefault is v, or def when v is unset (zero).
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// parseNetwork reads a CIDR, or one address as the network of just that address.
func parseNetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8: %w", s, err)
		}
		if p.Addr().Is4In6() {
			return p, fmt.Errorf("%q: write IPv4 networks in IPv4 form", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// IsLoopback reports whether host is a loopback address or localhost.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validTenant applies the rule the SDKs apply to tenant ids.
func validTenant(t string) bool {
	for _, r := range t {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return t != ""
}
