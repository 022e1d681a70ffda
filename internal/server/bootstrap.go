package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/pki"
	"github.com/lanyard-id/lanyard/internal/runstate"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/readcache"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

// Settings names.
const (
	settingTenant       = "tenant_id"
	settingSubscription = "subscription_id"
	settingHeaderKey    = "identity_header_key" // sealed
	// settingDelegationKey is the secret user delegation keys derive from. Sealed.
	settingDelegationKey = "user_delegation_secret"
)

func isSQLite(dsn string) bool { return dsn == "sqlite" || strings.HasPrefix(dsn, "sqlite:") }

// openStore opens the configured backend.
func openStore(ctx context.Context, dsn, home string) (store.Store, error) {
	switch {
	case dsn == "sqlite":
		return sqlstore.OpenSQLite(ctx, filepath.Join(home, "lanyard.db"))
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlstore.OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	default:
		return sqlstore.OpenPostgres(ctx, dsn)
	}
}

// loadKEK reads the key-encryption key from LANYARD_KEK, or from (creating) home/kek.
func loadKEK(home string) ([]byte, error) {
	if v := os.Getenv("LANYARD_KEK"); v != "" {
		return seal.ParseKEK(v)
	}
	return seal.LoadOrCreateKEK(filepath.Join(home, "kek"))
}

// agreeOn returns the value stored under name, storing generate()'s result first if there
// is none. Nodes starting together all end up with the first value written.
func agreeOn(ctx context.Context, s store.Settings, name string, generate func() ([]byte, error)) ([]byte, error) {
	v, err := s.GetSetting(ctx, name)
	if err == nil {
		return v, nil
	}
	if !lanyard.IsNotFound(err) {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	v, err = generate()
	if err != nil {
		return nil, err
	}
	if err := s.CreateSetting(ctx, name, v); err != nil {
		if lanyard.IsConflict(err) {
			return s.GetSetting(ctx, name)
		}
		return nil, fmt.Errorf("store setting %s: %w", name, err)
	}
	return v, nil
}

// loadTenant returns the tenant, creating it on first start. A configured id must match the
// one the store already holds.
func loadTenant(ctx context.Context, s store.Settings, configured string) (lanyard.Tenant, error) {
	tid, err := agreeOn(ctx, s, settingTenant, func() ([]byte, error) {
		if configured != "" {
			return []byte(configured), nil
		}
		return []byte(uuid.NewString()), nil
	})
	if err != nil {
		return lanyard.Tenant{}, err
	}
	if configured != "" && !strings.EqualFold(configured, string(tid)) {
		return lanyard.Tenant{}, fmt.Errorf("the store belongs to tenant %s, but tenant %s is configured", tid, configured)
	}
	sub, err := agreeOn(ctx, s, settingSubscription, func() ([]byte, error) { return []byte(uuid.NewString()), nil })
	if err != nil {
		return lanyard.Tenant{}, err
	}
	return lanyard.Tenant{ID: string(tid), SubscriptionID: string(sub)}, nil
}

// loadSecret returns the 32-byte secret stored sealed under setting name, creating it on
// first start: every node gets the same one.
func loadSecret(ctx context.Context, s store.Settings, sealer *seal.Sealer, name string) ([]byte, error) {
	sealed, err := agreeOn(ctx, s, name, func() ([]byte, error) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("generate %s: %w", name, err)
		}
		return sealer.Seal(k, []byte(name)), nil
	})
	if err != nil {
		return nil, err
	}
	k, err := sealer.Open(sealed, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("open the %s (is this the store's key-encryption key?): %w", name, err)
	}
	return k, nil
}

// loadAdminToken returns the SHA-256 of the admin credential in home, creating the
// credential (mode 0600) on first start.
func loadAdminToken(home string) ([]byte, error) {
	path := filepath.Join(home, runstate.AdminTokenFile)
	tok, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generate admin credential: %w", err)
		}
		tok = []byte("lya_" + base64.RawURLEncoding.EncodeToString(b))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create admin credential: %w", err)
		}
		if _, err := f.Write(append(tok, '\n')); err != nil {
			f.Close()
			return nil, fmt.Errorf("write admin credential: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write admin credential: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read admin credential: %w", err)
	} else if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("admin credential %s is readable by others (mode %v); make it 0600", path, info.Mode().Perm())
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(tok))))
	return sum[:], nil
}

// wrapStore, when set, wraps the store the server opens, behind everything built on it;
// tests set it to make the store fail on demand.
var wrapStore func(store.Store) store.Store

// foundation is what every service stands on: the store (and its read cache), the tenant,
// the secrets, the CA and the signing keys.
type foundation struct {
	cached             *readcache.Store
	sealer             *seal.Sealer
	headerKey          []byte
	delegationKey      []byte
	adminHash          []byte
	ca                 *pki.CA
	cert               tls.Certificate
	caFile, bundleFile string
}

func (s *Server) openFoundation(ctx context.Context) (*foundation, error) {
	cfg := s.cfg
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	kek, err := loadKEK(cfg.Home)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	sealer, err := seal.New(kek)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	if s.store, err = openStore(ctx, cfg.Store, cfg.Home); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if ss, ok := s.store.(*sqlstore.Store); ok && !isSQLite(cfg.Store) {
		ss.OnFeedUp, ss.OnFeedDown = s.feed.setUp, s.feed.setDown
		s.shared = ss
		s.feed.watch()
	}
	if wrapStore != nil {
		s.store = wrapStore(s.store)
	}
	f := &foundation{cached: readcache.New(s.store), sealer: sealer}
	f.cached.Fresh = s.feed.fresh
	if s.obs, err = openObservability(ctx, cfg.Audit, s.store, s.logger); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if s.tenant, err = loadTenant(ctx, s.store, cfg.TenantID); err != nil {
		return nil, err
	}
	if f.headerKey, err = loadSecret(ctx, s.store, sealer, settingHeaderKey); err != nil {
		return nil, err
	}
	if f.delegationKey, err = loadSecret(ctx, s.store, sealer, settingDelegationKey); err != nil {
		return nil, err
	}
	if f.adminHash, err = loadAdminToken(cfg.Home); err != nil {
		return nil, err
	}
	tlsDir := filepath.Join(cfg.Home, "tls")
	if f.ca, err = pki.LoadOrCreateCA(tlsDir); err != nil {
		return nil, fmt.Errorf("certificate authority: %w", err)
	}
	if f.cert, err = f.ca.ServerCertificate(append([]string{cfg.PublicHost}, cfg.TLSNames...), time.Now()); err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	f.caFile, f.bundleFile = filepath.Join(tlsDir, "ca.pem"), filepath.Join(tlsDir, "bundle.pem")
	if err := pki.WriteTrustBundle(f.bundleFile, f.ca.CertPEM()); err != nil {
		return nil, fmt.Errorf("trust bundle: %w", err)
	}
	if s.keyring, err = keys.New(ctx, s.store, sealer, keys.Options{MaxTokenLifetime: lanyard.MaxTokenLifetime, Logger: s.logger}); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return f, nil
}
