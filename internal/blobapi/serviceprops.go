package blobapi

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Get and Set Blob Service Properties. The CORS rules are kept per account and honoured
// (cors.go), and so are blob versioning and blob soft delete (the blob package keeps
// versions and soft-deleted states). The Storage Analytics settings (Logging, HourMetrics,
// MinuteMetrics) are kept and reported, but Lanyard writes no analytics logs or metrics
// (analytics.go). Every other setting is reported as Azure reports it when off, and
// turning one on is refused: container soft delete is set through ARM, and Lanyard
// serves no static website.

// ServiceSettings keeps an account's Blob service settings; directory.StorageAccounts
// is one.
type ServiceSettings interface {
	BlobCORS(ctx context.Context, account string) ([]lanyard.CORSRule, error)
	SetBlobCORS(ctx context.Context, account string, rules []lanyard.CORSRule) error
	// ContainerDeleteRetention is how long a deleted container is kept; 0: not kept.
	ContainerDeleteRetention(ctx context.Context, account string) (time.Duration, error)
	// BlobDataProtection returns the account's blob versioning setting and blob soft
	// delete retention in days (0: off).
	BlobDataProtection(ctx context.Context, account string) (versioning bool, retentionDays int, err error)
	// SetBlobDataProtection changes them; nil leaves a setting as it is.
	SetBlobDataProtection(ctx context.Context, account string, versioning *bool, retentionDays *int) error
	// BlobAnalytics returns the account's Storage Analytics settings.
	BlobAnalytics(ctx context.Context, account string) (lanyard.BlobAnalytics, error)
	// SetBlobAnalytics changes them; nil leaves a setting as it is.
	SetBlobAnalytics(ctx context.Context, account string, logging *lanyard.AnalyticsLogging, hour, minute *lanyard.AnalyticsMetrics) error
}

// RBAC actions of the service properties operations.
const (
	ActionServiceRead  = "Microsoft.Storage/storageAccounts/blobServices/read"
	ActionServiceWrite = "Microsoft.Storage/storageAccounts/blobServices/write"
)

var (
	opGetServiceProps = &operation{"GetBlobServiceProperties", ActionServiceRead, false, (*Handler).getServiceProperties}
	opSetServiceProps = &operation{"SetBlobServiceProperties", ActionServiceWrite, false, (*Handler).setServiceProperties}
)

// Azure's limits on CORS rules.
const (
	maxCORSRules   = 5
	maxCORSHeaders = 64
	maxCORSMaxAge  = 1<<31 - 1
	maxServiceBody = 64 << 10
)

// corsMethods are the methods a CORS rule may allow.
var corsMethods = map[string]bool{"DELETE": true, "GET": true, "HEAD": true, "MERGE": true, "POST": true, "OPTIONS": true, "PUT": true, "PATCH": true}

type serviceProperties struct {
	XMLName                        xml.Name   `xml:"StorageServiceProperties"`
	Logging                        *logging   `xml:"Logging"`
	HourMetrics                    *metrics   `xml:"HourMetrics"`
	MinuteMetrics                  *metrics   `xml:"MinuteMetrics"`
	Cors                           *corsXML   `xml:"Cors"`
	DefaultServiceVersion          *string    `xml:"DefaultServiceVersion"`
	DeleteRetentionPolicy          *retention `xml:"DeleteRetentionPolicy"`
	StaticWebsite                  *enabled   `xml:"StaticWebsite"`
	IsVersioningEnabled            *bool      `xml:"IsVersioningEnabled"`
	ContainerDeleteRetentionPolicy *retention `xml:"ContainerDeleteRetentionPolicy"`
}

type enabled struct {
	Enabled bool `xml:"Enabled"`
}

type retention struct {
	Enabled bool `xml:"Enabled"`
	Days    *int `xml:"Days"`
}

type corsXML struct {
	Rules []corsRuleXML `xml:"CorsRule"`
}

type corsRuleXML struct {
	AllowedOrigins  string `xml:"AllowedOrigins"`
	AllowedMethods  string `xml:"AllowedMethods"`
	MaxAgeInSeconds int    `xml:"MaxAgeInSeconds"`
	ExposedHeaders  string `xml:"ExposedHeaders"`
	AllowedHeaders  string `xml:"AllowedHeaders"`
}

func (h *Handler) getServiceProperties(w http.ResponseWriter, r *http.Request, t *target) error {
	if h.Settings == nil {
		return errNotImplemented("comp=properties")
	}
	rules, err := h.Settings.BlobCORS(r.Context(), t.account)
	if err != nil {
		return err
	}
	cors := &corsXML{Rules: []corsRuleXML{}}
	for _, c := range rules {
		cors.Rules = append(cors.Rules, corsRuleXML{AllowedOrigins: strings.Join(c.AllowedOrigins, ","), AllowedMethods: strings.Join(c.AllowedMethods, ","),
			MaxAgeInSeconds: c.MaxAgeSeconds, ExposedHeaders: strings.Join(c.ExposedHeaders, ","), AllowedHeaders: strings.Join(c.AllowedHeaders, ",")})
	}
	versioning, days, err := h.Settings.BlobDataProtection(r.Context(), t.account)
	if err != nil {
		return err
	}
	keep, err := h.Settings.ContainerDeleteRetention(r.Context(), t.account)
	if err != nil {
		return err
	}
	analytics, err := h.Settings.BlobAnalytics(r.Context(), t.account)
	if err != nil {
		return err
	}
	return writeXML(w, serviceProperties{
		Logging:                        loggingXML(analytics.Logging),
		HourMetrics:                    metricsXML(analytics.HourMetrics),
		MinuteMetrics:                  metricsXML(analytics.MinuteMetrics),
		Cors:                           cors,
		DeleteRetentionPolicy:          retentionOf(days),
		StaticWebsite:                  &enabled{},
		IsVersioningEnabled:            &versioning,
		ContainerDeleteRetentionPolicy: retentionOf(int(keep / (24 * time.Hour))),
	})
}

// retentionOf is a retention policy of days (0: off).
func retentionOf(days int) *retention {
	if days == 0 {
		return &retention{}
	}
	return &retention{Enabled: true, Days: &days}
}

func (h *Handler) setServiceProperties(w http.ResponseWriter, r *http.Request, t *target) error {
	if h.Settings == nil {
		return errNotImplemented("comp=properties")
	}
	if _, err := contentLength(r, maxServiceBody); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxServiceBody))
	if err != nil {
		return err
	}
	var in serviceProperties
	if xml.Unmarshal(body, &in) != nil {
		return errXML()
	}
	if err := h.refuseUnserved(r.Context(), t.account, &in); err != nil {
		return err
	}
	days, err := retentionDays(in.DeleteRetentionPolicy)
	if err != nil {
		return err
	}
	logs, err := loggingOf(in.Logging)
	if err != nil {
		return err
	}
	hour, err := metricsOf(in.HourMetrics)
	if err != nil {
		return err
	}
	minute, err := metricsOf(in.MinuteMetrics)
	if err != nil {
		return err
	}
	var rules []lanyard.CORSRule
	if in.Cors != nil {
		if rules, err = corsRules(in.Cors.Rules); err != nil {
			return err
		}
	}
	// Absent settings are unchanged, as in Azure.
	if in.IsVersioningEnabled != nil || days != nil {
		if err := h.Settings.SetBlobDataProtection(r.Context(), t.account, in.IsVersioningEnabled, days); err != nil {
			return err
		}
	}
	if in.Cors != nil {
		if err := h.Settings.SetBlobCORS(r.Context(), t.account, rules); err != nil {
			return err
		}
	}
	if logs != nil || hour != nil || minute != nil {
		if err := h.Settings.SetBlobAnalytics(r.Context(), t.account, logs, hour, minute); err != nil {
			return err
		}
	}
	return noContent(w, http.StatusAccepted)
}

// refuseUnserved refuses turning on what Lanyard does not do, rather than accepting a
// setting it would not honour. Container soft delete is set through ARM; the setting
// Get Blob Service Properties reported is accepted back unchanged, so that a client may
// send back what it read.
func (h *Handler) refuseUnserved(ctx context.Context, account string, p *serviceProperties) error {
	var on string
	if c := p.ContainerDeleteRetentionPolicy; c != nil && c.Enabled {
		keep, err := h.Settings.ContainerDeleteRetention(ctx, account)
		if err != nil {
			return err
		}
		if c.Days == nil || time.Duration(*c.Days)*24*time.Hour != keep {
			on = "ContainerDeleteRetentionPolicy (soft delete of containers, set through ARM)"
		}
	}
	switch {
	case on != "":
	case p.StaticWebsite != nil && p.StaticWebsite.Enabled:
		on = "StaticWebsite"
	case p.DefaultServiceVersion != nil && *p.DefaultServiceVersion != "":
		on = "DefaultServiceVersion"
	default:
		return nil
	}
	return errNotImplemented("Set Blob Service Properties with " + on)
}

// Azure's bounds on the days of a DeleteRetentionPolicy.
const (
	minRetentionDays = 1
	maxRetentionDays = 365
)

// retentionDays reads a retention policy (DeleteRetentionPolicy, or analytics'
// RetentionPolicy): nil when absent, 0 when disabled.
func retentionDays(p *retention) (*int, error) {
	if p == nil {
		return nil, nil
	}
	days := 0
	if p.Enabled {
		if p.Days == nil || *p.Days < minRetentionDays || *p.Days > maxRetentionDays {
			value := ""
			if p.Days != nil {
				value = strconv.Itoa(*p.Days)
			}
			return nil, errXMLNode("Days", value, "The retention days of an enabled retention policy are 1 to 365.")
		}
		days = *p.Days
	}
	return &days, nil
}

// corsRules validates CORS rules as Azure does.
func corsRules(in []corsRuleXML) ([]lanyard.CORSRule, error) {
	if len(in) > maxCORSRules {
		return nil, errXMLNode("Cors", "", "A service has at most five CORS rules.")
	}
	var out []lanyard.CORSRule
	for _, x := range in {
		rule := lanyard.CORSRule{AllowedOrigins: splitList(x.AllowedOrigins), AllowedMethods: splitList(x.AllowedMethods),
			AllowedHeaders: splitList(x.AllowedHeaders), ExposedHeaders: splitList(x.ExposedHeaders), MaxAgeSeconds: x.MaxAgeInSeconds}
		if len(rule.AllowedOrigins) == 0 || len(rule.AllowedOrigins) > maxCORSHeaders {
			return nil, errXMLNode("AllowedOrigins", x.AllowedOrigins, "")
		}
		if len(rule.AllowedMethods) == 0 {
			return nil, errXMLNode("AllowedMethods", x.AllowedMethods, "")
		}
		for i, m := range rule.AllowedMethods {
			rule.AllowedMethods[i] = strings.ToUpper(m)
			if !corsMethods[rule.AllowedMethods[i]] {
				return nil, errXMLNode("AllowedMethods", x.AllowedMethods, "")
			}
		}
		if len(rule.AllowedHeaders) > maxCORSHeaders {
			return nil, errXMLNode("AllowedHeaders", x.AllowedHeaders, "")
		}
		if len(rule.ExposedHeaders) > maxCORSHeaders {
			return nil, errXMLNode("ExposedHeaders", x.ExposedHeaders, "")
		}
		if x.MaxAgeInSeconds < 0 || x.MaxAgeInSeconds > maxCORSMaxAge {
			return nil, errXMLNode("MaxAgeInSeconds", "", "")
		}
		out = append(out, rule)
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping spaces and empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
