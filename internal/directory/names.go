package directory

import (
	"regexp"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Naming rules as ARM enforces them for each resource type.
var (
	groupName    = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	identityName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$`)
	appName      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]$`)
)

func checkGroupName(name string) error {
	if !utf8.ValidString(name) || !groupName.MatchString(name) || name[len(name)-1] == '.' {
		return lanyard.Errorf(lanyard.KindInvalid,
			"Resource group name '%s' is invalid: use 1-90 letters, digits, underscores, hyphens, periods or parentheses, not ending in a period.", clip(name)).
			WithCode("InvalidResourceGroup")
	}
	return nil
}

func checkIdentityName(name string) error {
	if !identityName.MatchString(name) {
		return lanyard.Errorf(lanyard.KindInvalid,
			"Identity name '%s' is invalid: use 3-128 letters, digits, hyphens or underscores, starting with a letter or digit.", clip(name)).
			WithCode("InvalidResourceName")
	}
	return nil
}

func checkAppName(name string) error {
	if !appName.MatchString(name) {
		return lanyard.Errorf(lanyard.KindInvalid,
			"App name '%s' is invalid: use 2-60 letters, digits or hyphens, starting and ending with a letter or digit.", clip(name)).
			WithCode("InvalidResourceName")
	}
	return nil
}

// clip keeps echoed input short so error messages stay bounded.
func clip(s string) string { return lanyard.Clip(s, 100) }
