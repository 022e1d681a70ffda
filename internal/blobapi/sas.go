package blobapi

import (
	"net/http"
	"net/url"
	"strings"
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

// sasFields are the SAS query parameters and where they go.
var sasFields = []struct {
	name string
	of   func(*sasParams) *string
}{
	{"sv", func(p *sasParams) *string { return &p.version }}, {"sr", func(p *sasParams) *string { return &p.resource }},
	{"sp", func(p *sasParams) *string { return &p.permissions }}, {"st", func(p *sasParams) *string { return &p.start }},
	{"se", func(p *sasParams) *string { return &p.expiry }}, {"sip", func(p *sasParams) *string { return &p.ip }},
	{"spr", func(p *sasParams) *string { return &p.protocol }}, {"sig", func(p *sasParams) *string { return &p.sig }},
	{"si", func(p *sasParams) *string { return &p.identifier }},
	{"skoid", func(p *sasParams) *string { return &p.keyOID }}, {"sktid", func(p *sasParams) *string { return &p.keyTID }},
	{"skt", func(p *sasParams) *string { return &p.keyStart }}, {"ske", func(p *sasParams) *string { return &p.keyExpiry }},
	{"sks", func(p *sasParams) *string { return &p.keyService }}, {"skv", func(p *sasParams) *string { return &p.keyVersion }},
	{"skdutid", func(p *sasParams) *string { return &p.keyDelegatedTID }}, {"sduoid", func(p *sasParams) *string { return &p.delegatedOID }},
	{"saoid", func(p *sasParams) *string { return &p.authorizedOID }}, {"suoid", func(p *sasParams) *string { return &p.unauthorizedOID }},
	{"scid", func(p *sasParams) *string { return &p.correlationID }}, {"ses", func(p *sasParams) *string { return &p.encryptionScope }},
	{"sdd", func(p *sasParams) *string { return &p.directoryDepth }}, {"snapshot", func(p *sasParams) *string { return &p.snapshot }},
	{"srh", func(p *sasParams) *string { return &p.requestHeaders }}, {"srq", func(p *sasParams) *string { return &p.requestQuery }},
	{"rscc", func(p *sasParams) *string { return &p.cacheControl }}, {"rscd", func(p *sasParams) *string { return &p.contentDisposition }},
	{"rsce", func(p *sasParams) *string { return &p.contentEncoding }}, {"rscl", func(p *sasParams) *string { return &p.contentLanguage }},
	{"rsct", func(p *sasParams) *string { return &p.contentType }},
}

// maxSASParam bounds each SAS parameter: the longest legitimate ones (overrides) are
// header values, which no client makes kilobytes long.
const maxSASParam = 2048

// parseSAS reads the SAS parameters of q, which has sig. A parameter given twice, or
// too long, makes the SAS malformed.
func parseSAS(q url.Values) (*sasParams, error) {
	p := &sasParams{}
	for _, f := range sasFields {
		vs, ok := q[f.name]
		if !ok {
			continue
		}
		if len(vs) != 1 || len(vs[0]) > maxSASParam {
			return nil, sasFailed("The value of query parameter " + f.name + " is not valid.")
		}
		*f.of(p) = vs[0]
	}
	p.accountSAS = q.Has("ss") || q.Has("srt")
	return p, nil
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

// canonicalResource is the SAS's signed resource name: /blob/{account}/{container}[/{blob}].
func canonicalResource(account, container, blobName, resource string) string {
	s := "/blob/" + account + "/" + container
	if resource != "c" {
		s += "/" + blobName
	}
	return s
}

// stringToSign is the user delegation SAS string-to-sign of p's service version, for the
// canonical resource name.
func (p *sasParams) stringToSign(canonical string) string {
	f := []string{p.permissions, p.start, p.expiry, canonical,
		p.keyOID, p.keyTID, p.keyStart, p.keyExpiry, p.keyService, p.keyVersion,
		p.authorizedOID, p.unauthorizedOID, p.correlationID}
	if p.version >= sasDelegatedVersion {
		f = append(f, p.keyDelegatedTID, p.delegatedOID)
	}
	f = append(f, p.ip, p.protocol, p.version, p.resource, p.snapshot, p.encryptionScope)
	if p.version >= sasRequestVersion {
		f = append(f, p.requestHeaders, p.requestQuery)
	}
	f = append(f, p.cacheControl, p.contentDisposition, p.contentEncoding, p.contentLanguage, p.contentType)
	return strings.Join(f, "\n")
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
