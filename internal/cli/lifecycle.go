package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/runstate"
)

func downCmd(e *env) *cobra.Command {
	var wait time.Duration
	c := &cobra.Command{Use: "down", Short: "Stop the Lanyard (lanyard up or lanyard server) running for this data folder",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := runstate.Read(e.home)
			if errors.Is(err, runstate.ErrNotRunning) {
				fmt.Fprintf(e.stderr, "No Lanyard is running for %s.\n", lanyard.Printable(e.home))
				return nil
			}
			if err != nil {
				return err
			}
			proc, running := serverProcess(st.PID)
			if !running {
				// The server died without cleaning up (killed, or the machine restarted).
				if err := runstate.Remove(e.home); err != nil {
					return fmt.Errorf("remove stale state: %w", err)
				}
				fmt.Fprintf(e.stderr, "No Lanyard is running for %s (pid %d is gone); removed its stale %s.\n", lanyard.Printable(e.home), st.PID, runstate.FileName)
				return nil
			}
			if err := proc.Signal(syscall.SIGTERM); err != nil {
				return fmt.Errorf("stop pid %d: %w", st.PID, err)
			}
			// Not our child, so it cannot be waited for: poll until it is gone.
			deadline := time.Now().Add(wait)
			for {
				if _, ok := serverProcess(st.PID); !ok {
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("pid %d did not stop within %s of SIGTERM; it may still be finishing requests", st.PID, wait)
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
			fmt.Fprintf(e.stderr, "Stopped Lanyard (pid %d) serving %s.\n", st.PID, lanyard.Printable(st.APIURL))
			return nil
		}}
	c.Flags().DurationVar(&wait, "timeout", 30*time.Second, "how long to wait for the server to stop")
	return c
}

// serverProcess finds a running process by pid and, where /proc tells, checks that it is
// a Lanyard server, so that a pid reused after a crash is never signalled.
func serverProcess(pid int) (*os.Process, bool) {
	if pid <= 0 {
		return nil, false
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return nil, false
	}
	if runtime.GOOS != "windows" {
		if err := proc.Signal(syscall.Signal(0)); err != nil && !errors.Is(err, syscall.EPERM) {
			return nil, false
		}
	}
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		args := strings.Split(string(raw), "\x00")
		if !slices.Contains(args, "up") && !slices.Contains(args, "server") {
			return nil, false
		}
	}
	return proc, true
}

// dataFolderMarkers are files only Lanyard makes in its data folder; reset refuses a
// folder with none of them, so that a mistyped --home never empties someone's folder.
var dataFolderMarkers = []string{runstate.AdminTokenFile, "kek", "lanyard.db", "tls", runstate.FileName}

func resetCmd(e *env) *cobra.Command {
	var yes bool
	c := &cobra.Command{Use: "reset", Short: "Delete everything in the data folder: identities, roles, keys, the CA and blobs",
		Long: "Delete the contents of the data folder (--home), after a question (--yes skips it). It refuses\n" +
			"while a server runs for the folder. A store outside the folder (PostgreSQL) is not touched.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home := e.home
			if st, err := runstate.Read(home); err == nil {
				if _, running := serverProcess(st.PID); running {
					return fmt.Errorf("a Lanyard server (pid %d) is running for %s: stop it first with `lanyard down`", st.PID, lanyard.Printable(home))
				}
			}
			entries, err := os.ReadDir(home)
			if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
				fmt.Fprintf(e.stderr, "Nothing to reset: %s is empty.\n", lanyard.Printable(home))
				return nil
			}
			if err != nil {
				return fmt.Errorf("read data folder: %w", err)
			}
			if !slices.ContainsFunc(entries, func(d os.DirEntry) bool { return slices.Contains(dataFolderMarkers, d.Name()) }) {
				return fmt.Errorf("%s does not look like a Lanyard data folder (it has none of %s): nothing was deleted",
					lanyard.Printable(home), strings.Join(dataFolderMarkers, ", "))
			}
			if !yes {
				if err := e.confirm(fmt.Sprintf("Delete everything in %s (%d entries: identities, roles, keys, the CA, blobs)? This cannot be undone.", lanyard.Printable(home), len(entries))); err != nil {
					return err
				}
			}
			for _, d := range entries {
				p := filepath.Join(home, d.Name())
				if err := os.RemoveAll(p); err != nil {
					return fmt.Errorf("reset: %w", err)
				}
				fmt.Fprintf(e.stderr, "Removed %s\n", lanyard.Printable(p))
			}
			return nil
		}}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return c
}
