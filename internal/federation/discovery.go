package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"

	"github.com/go-jose/go-jose/v4"
)

const (
	// maxKeys bounds the keys kept from one JWKS; real issuers publish a handful.
	maxKeys = 100
	// minRSABits refuses keys too weak to trust.
	minRSABits = 2048
	// maxRedirects bounds the redirects followed to one metadata document.
	maxRedirects = 3
)

// discoveryDoc is the part of an OpenID Provider Configuration document federation uses.
type discoveryDoc struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetch reads issuer's discovery document, checks that it is the issuer's own, and reads
// the key set it points to. The whole exchange shares one timeout.
func (k *IssuerKeys) fetch(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.fetchTimeout())
	defer cancel()
	if err := checkHTTPS(issuer); err != nil {
		return nil, unavailable("The issuer '"+clip(issuer)+"' is not an https URL.", err)
	}
	docURL := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var doc discoveryDoc
	if err := k.getJSON(ctx, "discovery document", docURL, &doc); err != nil {
		return nil, err
	}
	// A document that names another issuer describes someone else's keys: trusting it
	// would let whoever serves the URL speak for the issuer the credential names.
	if doc.Issuer != issuer {
		return nil, unavailable(fmt.Sprintf("The discovery document at %s names the issuer '%s', not '%s'.", docURL, clip(doc.Issuer), clip(issuer)), nil)
	}
	if err := checkHTTPS(doc.JWKSURI); err != nil {
		return nil, unavailable("The discovery document at "+docURL+" has no https jwks_uri.", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := k.getJSON(ctx, "key set", doc.JWKSURI, &set); err != nil {
		return nil, err
	}
	keys := usableKeys(set.Keys)
	if len(keys) == 0 {
		return nil, unavailable("The key set at "+clip(doc.JWKSURI)+" holds no usable signing key.", nil)
	}
	return keys, nil
}

// getJSON fetches u and decodes it into v, within k's size limit.
func (k *IssuerKeys) getJSON(ctx context.Context, what, u string, v any) error {
	err := k.getJSONOnce(ctx, what, u, v)
	if err != nil && ctx.Err() != nil {
		// Past the deadline whatever came back is cut short: say so, rather than blame
		// the document for the truncation.
		return unavailable(fmt.Sprintf("The issuer's %s at %s could not be fetched: %s.", what, clip(u), reason(ctx, ctx.Err())), err)
	}
	return err
}

func (k *IssuerKeys) getJSONOnce(ctx context.Context, what, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return unavailable(fmt.Sprintf("The issuer's %s URL %s is not valid.", what, clip(u)), err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.httpClient().Do(req)
	if err != nil {
		return unavailable(fmt.Sprintf("The issuer's %s at %s could not be fetched: %s.", what, clip(u), reason(ctx, err)), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return unavailable(fmt.Sprintf("The issuer's %s at %s answered HTTP %d.", what, clip(u), resp.StatusCode), nil)
	}
	limit := k.maxSize()
	tooLarge := unavailable(fmt.Sprintf("The issuer's %s at %s is larger than %d bytes.", what, clip(u), limit), nil)
	if resp.ContentLength > limit {
		return tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return unavailable(fmt.Sprintf("The issuer's %s at %s could not be read: %s.", what, clip(u), reason(ctx, err)), err)
	}
	if int64(len(body)) > limit {
		return tooLarge
	}
	if err := json.Unmarshal(body, v); err != nil {
		return unavailable(fmt.Sprintf("The issuer's %s at %s is not valid JSON.", what, clip(u)), err)
	}
	return nil
}

// reason says briefly why a request failed, for the log.
func reason(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return "timed out"
	}
	if errors.Is(err, errRefusedAddress) {
		return "its address is not allowed"
	}
	return "unreachable"
}

// httpClient is k.Client with redirects bounded and kept on https.
func (k *IssuerKeys) httpClient() *http.Client {
	c := http.DefaultClient
	if k.Client != nil {
		c = k.Client
	}
	cc := *c
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != "https" {
			return errors.New("redirected away from https")
		}
		return nil
	}
	return &cc
}

func checkHTTPS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https URL", clip(raw))
	}
	return nil
}

// usableKeys keeps the public signature keys of a JWKS that an allowed algorithm can use,
// skipping (rather than failing on) the others: issuers publish encryption keys, key
// types go-jose does not know, and sometimes a broken entry beside good ones. A key that
// carries private material is dropped: its issuer has leaked it.
func usableKeys(raws []json.RawMessage) []jose.JSONWebKey {
	var keys []jose.JSONWebKey
	for _, raw := range raws {
		if len(keys) == maxKeys {
			break
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() || !k.IsPublic() {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < minRSABits {
				continue
			}
		case *ecdsa.PublicKey:
		default:
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

func clip(s string) string { return lanyard.Clip(s, 200) }
