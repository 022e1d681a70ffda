// Package runstate records where a running Lanyard server can be reached, in its data
// folder, so that the CLI started later finds it without flags.
package runstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the state file's name inside the data folder.
const FileName = "lanyard.json"

// AdminTokenFile is the admin credential's file name inside the data folder.
const AdminTokenFile = "admin.token"

// State describes a running server.
type State struct {
	PID            int    `json:"pid"`
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	APIURL         string `json:"apiUrl"`       // this node's management API and authority
	AuthorityURL   string `json:"authorityUrl"` // the issuer's base: {public API URL}/{tenantId}
	MSIURL         string `json:"msiUrl"`
	BlobURL        string `json:"blobUrl"`
	CAFile         string `json:"caFile"`
	BundleFile     string `json:"bundleFile"`
}

// ErrNotRunning means no state file was found.
var ErrNotRunning = errors.New("no Lanyard server is running for this data folder (start one with `lanyard up`)")

// Write stores s in home atomically. It is the one file every start writes, by design:
// the PID and ports change. Callers treat a failure (a full disk) as a warning and serve
// anyway; the CLI then needs the URLs given explicitly. A failed write leaves nothing.
func Write(home string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp := filepath.Join(home, FileName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(home, FileName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Read loads the state from home.
func Read(home string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(home, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return s, ErrNotRunning
	}
	if err != nil {
		return s, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read state %s: %w", filepath.Join(home, FileName), err)
	}
	return s, nil
}

// Remove deletes the state file when the server stops.
func Remove(home string) error {
	err := os.Remove(filepath.Join(home, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
