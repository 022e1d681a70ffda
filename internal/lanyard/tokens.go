package lanyard

import "time"

// Token lifetimes, one definition for the issuer, the keyring, the revocation list and the
// configuration.
const (
	// DefaultTokenLifetime is a token's lifetime when nobody says otherwise. At least an
	// hour: MSAL drops tokens with under 5 minutes left and azcore refreshes 5 minutes early.
	DefaultTokenLifetime = time.Hour
	// MaxTokenLifetime caps every token's lifetime; Entra issues managed-identity tokens for
	// about 24 hours. A retired signing key stays published this long.
	MaxTokenLifetime = 24 * time.Hour
)
