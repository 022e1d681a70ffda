package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// closest returns the candidate nearest to word by edit distance, ignoring case, when it
// is near enough to be a likely misspelling; "" otherwise.
func closest(word string, candidates []string) string {
	best, bestDist := "", -1
	w := strings.ToLower(word)
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(2, utf8.RuneCountInString(word)/3)
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

func didYouMean(word string, candidates []string) string {
	if c := closest(word, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// editDistance is Levenshtein's, over runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// checkScope tells what is wrong with a --scope before it is put into a URL: a bare name,
// or a path that is no resource id, gets an explanation instead of a parse error.
// checkScopeFlag is a PreRunE that checks --scope, when it is given, before any call.
func checkScopeFlag(scope *string) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		if *scope == "" {
			return nil
		}
		return checkScope(*scope)
	}
}

func checkScope(scope string) error {
	const hint = "a scope is a resource id such as /subscriptions/<id>/resourceGroups/demo or a storage account's id; " +
		"`lanyard storage account show -g demo -n acct1 --query id -o tsv` prints one"
	if scope == "/" {
		return nil
	}
	if !strings.HasPrefix(scope, "/") {
		return fmt.Errorf("--scope %q is not a resource id: %s", scope, hint)
	}
	if strings.ContainsAny(scope, "?#%\\ \t\r\n") || strings.ContainsFunc(scope, lanyard.IsControlOrFormat) {
		return fmt.Errorf("--scope %q holds characters no resource id has: %s", scope, hint)
	}
	if _, err := lanyard.ParseResourceID(strings.TrimSuffix(scope, "/")); err != nil {
		return fmt.Errorf("--scope %q is not a resource id (it must start /subscriptions/<id>, then /resourceGroups/<name>, then /providers/<namespace>/<type>/<name>...): %s", scope, hint)
	}
	return nil
}

// isGUID reports whether s is a GUID, the form of client and principal ids.
func isGUID(s string) bool { return uuid.Validate(s) == nil && len(s) == 36 }
