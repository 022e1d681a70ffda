package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// managedVars are the variables an app's environment may set or leave out. `app run`
// drops inherited values of those the app leaves out, so a client id exported for one app
// never reaches another; `app env` unsets them, for the same reason.
var managedVars = []string{"AZURE_CLIENT_ID", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_URL", "AZURE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE"}

// withClientID applies --client-id: the user-assigned identity the SDKs' DefaultAzureCredential
// (and the code that reads AZURE_CLIENT_ID) asks for, instead of the app's default identity.
func withClientID(vars map[string]string, clientID string) (map[string]string, error) {
	if clientID == "" {
		return vars, nil
	}
	if uuid.Validate(clientID) != nil {
		return nil, fmt.Errorf("--client-id %q: give the identity's client id, a GUID (`lanyard identity show -g RG -n NAME` prints it)", clientID)
	}
	vars["AZURE_CLIENT_ID"] = clientID
	return vars, nil
}

// childEnv is the environment of a command run as the app: this process's, without the
// managed variables the app leaves out, plus the app's.
func childEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, set := vars[name]; !set && isManaged(name) {
			continue
		}
		env = append(env, kv)
	}
	return append(env, sortedEnv(vars)...)
}

func isManaged(name string) bool {
	for _, m := range managedVars {
		if name == m {
			return true
		}
	}
	return false
}

// shells are the formats of `app env --shell`.
var shells = map[string]struct {
	set   func(k, v string) string
	unset func(k string) string
}{
	"bash": {
		set:   func(k, v string) string { return "export " + k + "=" + shQuote(v) },
		unset: func(k string) string { return "unset " + k },
	},
	"fish": {
		set:   func(k, v string) string { return "set -gx " + k + " " + fishQuote(v) },
		unset: func(k string) string { return "set -e " + k },
	},
	"powershell": {
		set:   func(k, v string) string { return "$env:" + k + " = " + psQuote(v) },
		unset: func(k string) string { return "Remove-Item Env:" + k + " -ErrorAction SilentlyContinue" },
	},
	// dotenv is KEY=VALUE lines, unquoted, for --env-file and other programs.
	"dotenv": {set: func(k, v string) string { return k + "=" + v }},
}

func shellNames() string {
	names := make([]string, 0, len(shells))
	for n := range shells {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// printEnv writes vars as lines of shell, in name order; the managed variables the app
// leaves out are unset.
func printEnv(w io.Writer, shell string, vars map[string]string) error {
	sh, ok := shells[shell]
	if !ok {
		return fmt.Errorf("--shell %q: use one of %s", shell, shellNames())
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintln(w, sh.set(k, vars[k]))
	}
	if sh.unset != nil {
		for _, k := range managedVars {
			if _, set := vars[k]; !set {
				fmt.Fprintln(w, sh.unset(k))
			}
		}
	}
	return nil
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fishQuote: inside fish's single quotes only \\ and \' are escapes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
