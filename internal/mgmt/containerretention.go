package mgmt

import (
	"encoding/json"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The blob service's containerDeleteRetentionPolicy: container soft delete (see
// internal/blob/softdelete.go), kept on the storage account.

const containerRetentionProperty = "containerDeleteRetentionPolicy"

// Azure's range for a retention policy's days.
const (
	minRetentionDays = 1
	maxRetentionDays = 365
)

type retentionPolicyJSON struct {
	Enabled bool `json:"enabled"`
	Days    *int `json:"days,omitempty"`
}

func containerRetention(acct lanyard.StorageAccount) retentionPolicyJSON {
	if acct.ContainerDeleteRetentionDays == 0 {
		return retentionPolicyJSON{}
	}
	days := acct.ContainerDeleteRetentionDays
	return retentionPolicyJSON{Enabled: true, Days: &days}
}

// takeContainerRetention removes containerDeleteRetentionPolicy from a PUT's properties
// and returns the days it asks for (0: off); set is false when the PUT leaves it out
// (then it stays as it is).
func takeContainerRetention(props map[string]json.RawMessage) (days int, set bool, err error) {
	raw, ok := props[containerRetentionProperty]
	if !ok {
		return 0, false, nil
	}
	delete(props, containerRetentionProperty)
	if string(raw) == "null" {
		return 0, true, nil
	}
	var p retentionPolicyJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return 0, false, apiError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+clip(err.Error())+".")
	}
	if !p.Enabled {
		return 0, true, nil
	}
	if p.Days == nil || *p.Days < minRetentionDays || *p.Days > maxRetentionDays {
		return 0, false, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue",
			"containerDeleteRetentionPolicy.days must be between 1 and 365 when the policy is enabled.")
	}
	return *p.Days, true, nil
}
