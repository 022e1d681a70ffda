package blobapi

import (
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Storage Analytics settings of Set and Get Blob Service Properties: Logging, HourMetrics
// and MinuteMetrics. Lanyard keeps them per account and reports them back, validated as
// Azure validates them, but writes no analytics logs ($logs) or metrics ($Metrics
// tables): clients that turn analytics on (as tools and tests do) work, and Lanyard's
// own audit trail and Prometheus metrics are where its requests are recorded.

// analyticsVersion is the only version of Storage Analytics there is.
const analyticsVersion = "1.0"

type logging struct {
	Version         string     `xml:"Version"`
	Delete          *bool      `xml:"Delete"`
	Read            *bool      `xml:"Read"`
	Write           *bool      `xml:"Write"`
	RetentionPolicy *retention `xml:"RetentionPolicy"`
}

type metrics struct {
	Version string `xml:"Version"`
	Enabled *bool  `xml:"Enabled"`
	// IncludeAPIs is required, and reported, only when metrics are enabled.
	IncludeAPIs     *bool      `xml:"IncludeAPIs"`
	RetentionPolicy *retention `xml:"RetentionPolicy"`
}

func loggingXML(l lanyard.AnalyticsLogging) *logging {
	return &logging{Version: analyticsVersion, Delete: &l.Delete, Read: &l.Read, Write: &l.Write, RetentionPolicy: retentionOf(l.RetentionDays)}
}

func metricsXML(m lanyard.AnalyticsMetrics) *metrics {
	out := &metrics{Version: analyticsVersion, Enabled: &m.Enabled, RetentionPolicy: retentionOf(m.RetentionDays)}
	if m.Enabled {
		out.IncludeAPIs = &m.IncludeAPIs
	}
	return out
}

// checkAnalyticsVersion refuses a Version other than 1.0.
func checkAnalyticsVersion(v string) error {
	if v != analyticsVersion {
		return errXMLNode("Version", v, "The version of Storage Analytics is 1.0.")
	}
	return nil
}

// loggingOf reads a Logging element: nil when absent. Every child is required.
func loggingOf(x *logging) (*lanyard.AnalyticsLogging, error) {
	if x == nil {
		return nil, nil
	}
	if err := checkAnalyticsVersion(x.Version); err != nil {
		return nil, err
	}
	if x.Delete == nil || x.Read == nil || x.Write == nil || x.RetentionPolicy == nil {
		return nil, errXML()
	}
	days, err := retentionDays(x.RetentionPolicy)
	if err != nil {
		return nil, err
	}
	return &lanyard.AnalyticsLogging{Delete: *x.Delete, Read: *x.Read, Write: *x.Write, RetentionDays: *days}, nil
}

// metricsOf reads an HourMetrics or MinuteMetrics element: nil when absent. IncludeAPIs
// is required when metrics are enabled, and means nothing when they are not.
func metricsOf(x *metrics) (*lanyard.AnalyticsMetrics, error) {
	if x == nil {
		return nil, nil
	}
	if err := checkAnalyticsVersion(x.Version); err != nil {
		return nil, err
	}
	if x.Enabled == nil || x.RetentionPolicy == nil || *x.Enabled && x.IncludeAPIs == nil {
		return nil, errXML()
	}
	days, err := retentionDays(x.RetentionPolicy)
	if err != nil {
		return nil, err
	}
	m := &lanyard.AnalyticsMetrics{Enabled: *x.Enabled, RetentionDays: *days}
	if m.Enabled {
		m.IncludeAPIs = *x.IncludeAPIs
	}
	return m, nil
}
