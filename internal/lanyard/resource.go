package lanyard

import (
	"strings"
	"time"
)

// Tenant is the one directory a Lanyard server serves, with its default subscription.
type Tenant struct {
	ID             string
	SubscriptionID string
}

// ResourceGroup is a named container of resources in the default subscription.
type ResourceGroup struct {
	Name      string
	Location  string
	Tags      map[string]string
	CreatedAt time.Time
}

// IdentityKind says how an identity came to be.
type IdentityKind string

const (
	UserAssigned   IdentityKind = "UserAssigned"
	SystemAssigned IdentityKind = "SystemAssigned"
)

// Identity is a managed identity: a service principal that apps obtain tokens for.
// A user-assigned identity is a resource of its own; a system-assigned one lives and
// dies with its app, and its ResourceID is the app's.
type Identity struct {
	PrincipalID   string // object id; the token's oid and sub
	ClientID      string // the token's appid
	Kind          IdentityKind
	ResourceID    string // ARM id; the token's xms_mirid
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	Enabled       bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// App is a workload (Microsoft.Web/sites) that may hold a system-assigned identity and any
// number of user-assigned ones. It proves who it is to the managed-identity endpoint with
// its identity header, of which Lanyard keeps only a hash.
type App struct {
	ResourceID    string
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	// SystemPrincipalID is the principal id of the system-assigned identity, "" when none.
	SystemPrincipalID string
	// UserAssigned holds the principal ids of the user-assigned identities, sorted.
	UserAssigned []string
	// HeaderVersion counts header rotations; the header is derived from it.
	HeaderVersion int
	HeaderHash    []byte
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// SigningKey is an RSA key the authority signs tokens with. The private key is kept sealed
// (encrypted with the key-encryption key); storage never sees it in the clear.
type SigningKey struct {
	ID          string // kid, equal to x5t as Entra publishes it
	SealedKey   []byte // PKCS#8, sealed
	Certificate []byte // DER, self-signed, published as x5c
	CreatedAt   time.Time
	// RetiredAt is when the key stopped signing; nil while it is the active key.
	RetiredAt *time.Time
	// RemoveAfter is when the key may leave the JWKS: every token it signed has expired.
	RemoveAfter *time.Time
}

// Active reports whether k is the key that signs new tokens.
func (k SigningKey) Active() bool { return k.RetiredAt == nil }

// Published reports whether k belongs in the JWKS at time now.
func (k SigningKey) Published(now time.Time) bool {
	return k.RemoveAfter == nil || now.Before(*k.RemoveAfter)
}

// SameName compares ARM names and ids the way Azure does: case-insensitively.
func SameName(a, b string) bool { return strings.EqualFold(a, b) }

// StorageAccount is a Microsoft.Storage/storageAccounts resource. Its name is unique across
// the server, as account names are across Azure, because it addresses the Blob endpoint.
type StorageAccount struct {
	Name          string
	ResourceGroup string
	ResourceID    string
	Location      string
	Tags          map[string]string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// UserDelegationKeyGeneration is mixed into every user delegation key of the account;
	// revoking the account's keys increments it, which invalidates every key given out.
	UserDelegationKeyGeneration int64
	// BlobCORS are the Blob service's CORS rules (Set Blob Service Properties), in order.
	BlobCORS []CORSRule
	// ContainerDeleteRetentionDays is how long a deleted container is kept for restore
	// (the Blob service's containerDeleteRetentionPolicy); 0: not kept.
	ContainerDeleteRetentionDays int
	// BlobVersioning keeps every earlier state of a blob as a version (isVersioningEnabled).
	BlobVersioning bool
	// BlobDeleteRetentionDays is how long deleted blobs are kept soft-deleted (blob
	// deleteRetentionPolicy); 0 when soft delete is off.
	BlobDeleteRetentionDays int
	// SKU is the account's sku.name, one of the SKU* names (see StorageSKU).
	SKU string
	// BlobAnalytics are the Blob service's Storage Analytics settings.
	BlobAnalytics BlobAnalytics
}

// BlobAnalytics are the Storage Analytics settings of a Blob service (Set Blob Service
// Properties' Logging, HourMetrics and MinuteMetrics). Lanyard writes no analytics logs
// or metrics ($logs, $Metrics tables): the settings are kept and reported only, so that
// clients that set them work and read back what they set. The zero value is all off.
type BlobAnalytics struct {
	Logging       AnalyticsLogging `json:"logging"`
	HourMetrics   AnalyticsMetrics `json:"hourMetrics"`
	MinuteMetrics AnalyticsMetrics `json:"minuteMetrics"`
}

// AnalyticsLogging is what Storage Analytics would log: deletes, reads, writes, each kept
// RetentionDays (0: kept until deleted).
type AnalyticsLogging struct {
	Delete        bool `json:"delete,omitempty"`
	Read          bool `json:"read,omitempty"`
	Write         bool `json:"write,omitempty"`
	RetentionDays int  `json:"retentionDays,omitempty"`
}

// AnalyticsMetrics is whether Storage Analytics would aggregate metrics, per API too
// (IncludeAPIs), each kept RetentionDays (0: kept until deleted).
type AnalyticsMetrics struct {
	Enabled       bool `json:"enabled,omitempty"`
	IncludeAPIs   bool `json:"includeAPIs,omitempty"`
	RetentionDays int  `json:"retentionDays,omitempty"`
}

// CORSRule is one CORS rule of a storage service: requests from AllowedOrigins with
// AllowedMethods and AllowedHeaders are allowed, and may read ExposedHeaders; a
// preflight answer may be cached MaxAgeSeconds. "*" matches any origin or header, and a
// header ending in * matches by prefix.
type CORSRule struct {
	AllowedOrigins []string `json:"origins"`
	AllowedMethods []string `json:"methods"`
	AllowedHeaders []string `json:"headers,omitempty"`
	ExposedHeaders []string `json:"exposed,omitempty"`
	MaxAgeSeconds  int      `json:"maxAge"`
}
