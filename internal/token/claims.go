// Package token mints and verifies Lanyard's access tokens: v1-style Entra managed-identity
// tokens, RS256-signed JWTs carrying the claims real Entra puts in them (aud, iss, iat, nbf,
// exp, aio, appid, appidacr, idp, idtyp, oid, rh, sub, tid, uti, ver, xms_mirid).
//
// The issuer URL is Lanyard's own (https://host:port/{tenant}/), not
// https://sts.windows.net/{tenant}/: resource-side validators that insist on the
// sts.windows.net prefix will reject Lanyard tokens, as they should reject any
// self-hosted identity provider.
package token

import (
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are the claims of a verified token.
type Claims struct {
	// Audience is the resource the token is for, as requested when it was minted. For a
	// token with several audiences, the one that matched.
	Audience  string
	Issuer    string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time

	AppID        string // the identity's client id
	AppIDACR     string // "2": the client proved itself with a certificate
	IdP          string
	IDType       string // "app"
	ObjectID     string // the identity's principal id
	Subject      string // equal to ObjectID
	TenantID     string
	UTI          string // unique token id
	Version      string // "1.0"
	MIResourceID string // xms_mirid: ARM id of the identity or of the resource holding it
	AIO          string // opaque
	RH           string // opaque

	KeyID string // kid of the key that signed it
}

// wireClaims is the JSON payload, in the order Entra writes it.
type wireClaims struct {
	Aud      jwt.Audience     `json:"aud"`
	Iss      string           `json:"iss"`
	Iat      *jwt.NumericDate `json:"iat"`
	Nbf      *jwt.NumericDate `json:"nbf"`
	Exp      *jwt.NumericDate `json:"exp"`
	AIO      string           `json:"aio,omitempty"`
	AppID    string           `json:"appid"`
	AppIDACR string           `json:"appidacr"`
	IdP      string           `json:"idp"`
	IDTyp    string           `json:"idtyp"`
	OID      string           `json:"oid"`
	RH       string           `json:"rh,omitempty"`
	Sub      string           `json:"sub"`
	TID      string           `json:"tid"`
	UTI      string           `json:"uti"`
	Ver      string           `json:"ver"`
	MIRID    string           `json:"xms_mirid,omitempty"`
}
