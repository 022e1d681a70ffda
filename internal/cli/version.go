package cli

import (
	"runtime/debug"
	"strings"
)

// Version may be set at link time (-ldflags "-X github.com/lanyard-id/lanyard/internal/cli.Version=v1.2.3")
// by a packager; otherwise the build info says what was built.
var Version string

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	return versionFrom(bi, ok)
}

// versionFrom reads the version from build info: the module version for `go install
// ...@vX` (and the pseudo-version Go stamps on a source build), else the commit and its
// time, with +dirty for uncommitted changes. Never a bare "dev": a bug report must say
// what ran.
func versionFrom(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "unknown (built without module information)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	rev := settings["vcs.revision"]
	if rev == "" {
		return "devel (no version control information; build from a git checkout or with go install ...@version)"
	}
	var b strings.Builder
	b.WriteString("devel ")
	b.WriteString(rev[:min(12, len(rev))])
	if t := settings["vcs.time"]; t != "" {
		b.WriteString(" (" + t + ")")
	}
	if settings["vcs.modified"] == "true" {
		b.WriteString(" +dirty")
	}
	return b.String()
}
