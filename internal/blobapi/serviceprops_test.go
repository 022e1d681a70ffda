package blobapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

type settings struct {
	mu         sync.Mutex
	rules      map[string][]lanyard.CORSRule
	retain     time.Duration // every account's container delete retention
	versioning map[string]bool
	days       map[string]int
	analytics  map[string]lanyard.BlobAnalytics
}

func (s *settings) BlobAnalytics(_ context.Context, account string) (lanyard.BlobAnalytics, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.analytics[account], nil
}

func (s *settings) SetBlobAnalytics(_ context.Context, account string, logging *lanyard.AnalyticsLogging, hour, minute *lanyard.AnalyticsMetrics) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.analytics == nil {
		s.analytics = map[string]lanyard.BlobAnalytics{}
	}
	a := s.analytics[account]
	if logging != nil {
		a.Logging = *logging
	}
	if hour != nil {
		a.HourMetrics = *hour
	}
	if minute != nil {
		a.MinuteMetrics = *minute
	}
	s.analytics[account] = a
	return nil
}

func (s *settings) ContainerDeleteRetention(context.Context, string) (time.Duration, error) {
	return s.retain, nil
}

func (s *settings) BlobDataProtection(_ context.Context, account string) (bool, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versioning[account], s.days[account], nil
}

func (s *settings) SetBlobDataProtection(_ context.Context, account string, versioning *bool, days *int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.versioning == nil {
		s.versioning, s.days = map[string]bool{}, map[string]int{}
	}
	if versioning != nil {
		s.versioning[account] = *versioning
	}
	if days != nil {
		s.days[account] = *days
	}
	return nil
}

func (s *settings) BlobCORS(_ context.Context, account string) ([]lanyard.CORSRule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rules[account], nil
}

func (s *settings) SetBlobCORS(_ context.Context, account string, rules []lanyard.CORSRule) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[account] = rules
	return nil
}

// TestServicePropertiesAndCORSWithGoSDK: CORS rules set with SetProperties come back from
// GetProperties and are honoured: a preflight is answered per the rules without
// authentication, and an answer to an allowed Origin carries the Access-Control headers.
// Turning on what Lanyard does not do is refused.
func TestServicePropertiesAndCORSWithGoSDK(t *testing.T) {
	e := newEnv(t)
	e.h.Settings = &settings{rules: map[string][]lanyard.CORSRule{}}
	e.container(t, "data")
	e.put(t, "data/a.txt", "a", nil)
	c, err := service.NewClient(e.srv.URL+"/"+account, fixedToken{}, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: e.srv.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rule := &service.CORSRule{AllowedOrigins: to.Ptr("https://app.example"), AllowedMethods: to.Ptr("GET,PUT"),
		AllowedHeaders: to.Ptr("x-ms-meta-*,content-type"), ExposedHeaders: to.Ptr("x-ms-request-id"), MaxAgeInSeconds: to.Ptr[int32](600)}
	if _, err := c.SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{rule}}); err != nil {
		t.Fatal(err)
	}
	if got := e.auth.last(); got.Action != blobapi.ActionServiceWrite {
		t.Fatalf("Set Blob Service Properties asked for %+v", got)
	}
	props, err := c.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(props.CORS) != 1 || *props.CORS[0].AllowedMethods != "GET,PUT" || *props.CORS[0].MaxAgeInSeconds != 600 ||
		*props.DeleteRetentionPolicy.Enabled || *props.StaticWebsite.Enabled || props.HourMetrics == nil || *props.HourMetrics.Enabled {
		t.Fatalf("GetProperties = %+v", props)
	}
	_, err = c.SetProperties(ctx, &service.SetPropertiesOptions{StaticWebsite: &service.StaticWebsite{Enabled: to.Ptr(true)}})
	wantCode(t, "static website", err, http.StatusNotImplemented, "NotImplemented")

	// Versioning and blob soft delete are kept and reported; absent settings stay.
	// (The Go SDK has no IsVersioningEnabled: the XML says it.)
	e.must(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><IsVersioningEnabled>true</IsVersioningEnabled></StorageServiceProperties>"}, http.StatusAccepted)
	if _, err := c.SetProperties(ctx, &service.SetPropertiesOptions{
		DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](7)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{rule}}); err != nil {
		t.Fatal(err)
	}
	if res := e.must(t, req{method: "GET", path: "/" + account + "?restype=service&comp=properties"}, http.StatusOK); !strings.Contains(res.body, "<IsVersioningEnabled>true</IsVersioningEnabled>") {
		t.Fatalf("versioning not reported on: %s", res.body)
	}
	if props, err = c.GetProperties(ctx, nil); err != nil || !*props.DeleteRetentionPolicy.Enabled || *props.DeleteRetentionPolicy.Days != 7 {
		t.Fatalf("GetProperties after turning versioning and soft delete on = %+v, %v", props, err)
	}
	for _, days := range []int32{0, 366} {
		_, err := c.SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr(days)}})
		wantCode(t, "retention days", err, http.StatusBadRequest, "InvalidXmlNodeValue")
	}
	e.must(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><IsVersioningEnabled>false</IsVersioningEnabled><DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy></StorageServiceProperties>"}, http.StatusAccepted)
	if res := e.must(t, req{method: "GET", path: "/" + account + "?restype=service&comp=properties"}, http.StatusOK); !strings.Contains(res.body, "<IsVersioningEnabled>false</IsVersioningEnabled>") {
		t.Fatalf("versioning not reported off: %s", res.body)
	}
	if props, err = c.GetProperties(ctx, nil); err != nil || *props.DeleteRetentionPolicy.Enabled {
		t.Fatalf("GetProperties after turning versioning and soft delete off = %+v, %v", props, err)
	}

	// Container soft delete is set through ARM: what Get reported is taken back unchanged
	// (a client may send back what it read), anything else is refused.
	e.h.Settings.(*settings).retain = 5 * 24 * time.Hour
	read := e.must(t, req{method: "GET", path: "/" + account + "?restype=service&comp=properties"}, http.StatusOK).body
	if !strings.Contains(read, "<ContainerDeleteRetentionPolicy><Enabled>true</Enabled><Days>5</Days></ContainerDeleteRetentionPolicy>") {
		t.Fatalf("container soft delete not reported: %s", read)
	}
	e.must(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties", body: read}, http.StatusAccepted)
	e.fails(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><ContainerDeleteRetentionPolicy><Enabled>true</Enabled><Days>6</Days></ContainerDeleteRetentionPolicy></StorageServiceProperties>"},
		http.StatusNotImplemented, "NotImplemented")

	// Preflight: no Authorization, answered by the rule.
	p := "/" + account + "/data/a.txt"
	res := e.must(t, req{method: "OPTIONS", path: p, noAuth: true, hdr: map[string]string{"Origin": "https://app.example",
		"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-ms-meta-owner,content-type"}}, http.StatusOK)
	if res.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" || res.hdr.Get("Access-Control-Allow-Methods") != "PUT" ||
		res.hdr.Get("Access-Control-Max-Age") != "600" || res.hdr.Get("Access-Control-Allow-Headers") != "x-ms-meta-owner,content-type" {
		t.Fatalf("preflight headers %v", res.hdr)
	}
	for name, hdr := range map[string]map[string]string{
		"other origin": {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
		"other method": {"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"},
		"other header": {"Origin": "https://app.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-custom"},
	} {
		t.Run(name, func(t *testing.T) {
			e.fails(t, req{method: "OPTIONS", path: p, noAuth: true, hdr: hdr}, http.StatusForbidden, "CorsPreflightFailure")
		})
	}
	// A preflight without Origin or Access-Control-Request-Method: Azure's CorsRequiredHeader.
	for _, hdr := range []map[string]string{nil, {"Origin": "https://app.example"}, {"Access-Control-Request-Method": "GET"}} {
		res := e.fails(t, req{method: "OPTIONS", path: p, noAuth: true, hdr: hdr}, http.StatusBadRequest, "InvalidHeaderValue")
		if !strings.Contains(res.body, "A required CORS header is not present.") {
			t.Fatalf("preflight without %v: %s", hdr, res.body)
		}
	}

	// The answer itself, to an allowed Origin, success or error.
	res = e.must(t, req{method: "GET", path: p, hdr: map[string]string{"Origin": "https://app.example"}}, http.StatusOK)
	if res.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" || res.hdr.Get("Access-Control-Expose-Headers") != "x-ms-request-id" {
		t.Fatalf("GET headers %v", res.hdr)
	}
	res = e.fails(t, req{method: "GET", path: p, noAuth: true, hdr: map[string]string{"Origin": "https://app.example"}}, http.StatusUnauthorized, "NoAuthenticationInformation")
	if res.hdr.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("error answer without CORS headers: %v", res.hdr)
	}
	res = e.must(t, req{method: "GET", path: p, hdr: map[string]string{"Origin": "https://evil.example"}}, http.StatusOK)
	if res.hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS headers for an origin no rule allows: %v", res.hdr)
	}

	// An empty Cors element clears the rules.
	e.must(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><Cors/></StorageServiceProperties>"}, http.StatusAccepted)
	e.fails(t, req{method: "OPTIONS", path: p, noAuth: true, hdr: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}},
		http.StatusForbidden, "CorsPreflightFailure")
	e.fails(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
		body: "<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>FETCH</AllowedMethods><MaxAgeInSeconds>1</MaxAgeInSeconds></CorsRule></Cors></StorageServiceProperties>"},
		http.StatusBadRequest, "InvalidXmlNodeValue")
}

// TestCORSWildcardOriginAndVary: an allowed origin may stand for any subdomain
// ("https://*.contoso.example"), and Vary: Origin is set when the answer depends on the
// Origin: a rule for some origins, or no rule for this one; not for a rule allowing all.
func TestCORSWildcardOriginAndVary(t *testing.T) {
	e := newEnv(t)
	e.h.Settings = &settings{rules: map[string][]lanyard.CORSRule{}}
	e.container(t, "data")
	e.put(t, "data/a.txt", "a", nil)
	setRules := func(origins string) {
		e.must(t, req{method: "PUT", path: "/" + account + "?restype=service&comp=properties",
			body: "<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>" + origins + "</AllowedOrigins><AllowedMethods>GET</AllowedMethods>" +
				"<AllowedHeaders></AllowedHeaders><ExposedHeaders>*</ExposedHeaders><MaxAgeInSeconds>60</MaxAgeInSeconds></CorsRule></Cors></StorageServiceProperties>"}, http.StatusAccepted)
	}
	p := "/" + account + "/data/a.txt"
	preflight := func(origin string) resp {
		return e.do(t, req{method: "OPTIONS", path: p, noAuth: true, hdr: map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}})
	}
	setRules("https://*.contoso.example")
	for origin, want := range map[string]int{
		"https://foo.contoso.example": http.StatusOK, "https://a.b.CONTOSO.example": http.StatusOK,
		"https://contoso.example": http.StatusForbidden, "https://bar.notcontoso.example": http.StatusForbidden, "http://foo.contoso.example": http.StatusForbidden,
	} {
		if res := preflight(origin); res.status != want || (want == http.StatusOK && res.hdr.Get("Access-Control-Allow-Origin") != origin) {
			t.Fatalf("preflight from %s: %d %v, want %d", origin, res.status, res.hdr, want)
		}
	}
	get := func(origin string) http.Header {
		return e.must(t, req{method: "GET", path: p, hdr: map[string]string{"Origin": origin}}, http.StatusOK).hdr
	}
	if h := get("https://foo.contoso.example"); h.Get("Access-Control-Allow-Origin") != "https://foo.contoso.example" || h.Get("Vary") != "Origin" {
		t.Fatalf("GET from an allowed subdomain: %v", h)
	}
	if h := get("https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" || h.Get("Vary") != "Origin" {
		t.Fatalf("GET from an origin no rule allows: %v", h)
	}
	if h := e.must(t, req{method: "GET", path: p}, http.StatusOK).hdr; h.Get("Vary") != "" {
		t.Fatalf("GET without an Origin: %v", h)
	}
	setRules("*")
	if h := get("https://any.example"); h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Vary") != "" || h.Get("Access-Control-Expose-Headers") != "*" {
		t.Fatalf("GET with a rule for all origins: %v", h)
	}
}
