package mgmt

import (
	"encoding/json"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/directory"
)

// The blob service's data protection properties, kept on the storage account: blob
// versioning (isVersioningEnabled), blob soft delete (deleteRetentionPolicy) and
// container soft delete (containerDeleteRetentionPolicy).

const (
	versioningProperty         = "isVersioningEnabled"
	blobRetentionProperty      = "deleteRetentionPolicy"
	containerRetentionProperty = "containerDeleteRetentionPolicy"
)

// Azure's range for a retention policy's days.
const (
	minRetentionDays = 1
	maxRetentionDays = 365
)

type retentionPolicyJSON struct {
	Enabled bool `json:"enabled"`
	Days    *int `json:"days,omitempty"`
}

func retentionPolicy(days int) retentionPolicyJSON {
	if days == 0 {
		return retentionPolicyJSON{}
	}
	return retentionPolicyJSON{Enabled: true, Days: &days}
}

// takeBlobProtection removes the data protection properties from a PUT's properties and
// returns the change they ask for; a property left out (or null) stays as it is.
func takeBlobProtection(props map[string]json.RawMessage) (directory.BlobProtectionChange, error) {
	var c directory.BlobProtectionChange
	if raw, ok := take(props, versioningProperty); ok {
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return c, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue", versioningProperty+" must be true or false.")
		}
		c.Versioning = &v
	}
	var err error
	if c.BlobRetentionDays, err = takeRetention(props, blobRetentionProperty); err != nil {
		return c, err
	}
	c.ContainerRetentionDays, err = takeRetention(props, containerRetentionProperty)
	return c, err
}

// takeRetention removes a retention policy from props and returns its days (0: off), or
// nil when it is left out.
func takeRetention(props map[string]json.RawMessage, name string) (*int, error) {
	raw, ok := take(props, name)
	if !ok {
		return nil, nil
	}
	var p struct {
		Enabled *bool `json:"enabled"`
		Days    *int  `json:"days"`
	}
	if json.Unmarshal(raw, &p) != nil || p.Enabled == nil {
		return nil, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue", name+" needs enabled (true or false) and, when enabled, days.")
	}
	days := 0
	if *p.Enabled {
		if p.Days == nil || *p.Days < minRetentionDays || *p.Days > maxRetentionDays {
			return nil, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue", name+".days must be between 1 and 365 when the policy is enabled.")
		}
		days = *p.Days
	}
	return &days, nil
}

// take removes props[name] and returns it, unless it is absent or null.
func take(props map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := props[name]
	delete(props, name)
	return raw, ok && string(raw) != "null"
}

// hasBlobProtection reports whether the change sets anything.
func hasBlobProtection(c directory.BlobProtectionChange) bool {
	return c.Versioning != nil || c.BlobRetentionDays != nil || c.ContainerRetentionDays != nil
}
