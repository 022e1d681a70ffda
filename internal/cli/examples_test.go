package cli

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command has examples, and every example line that runs lanyard is a valid
// invocation: the command exists, its flags parse, required flags and arguments are given,
// names are long enough for the server to take them, and --output and --query are valid.
// Command substitutions, $(lanyard ...), are checked the same way.
func TestExamplesAreValidInvocations(t *testing.T) {
	root := newRoot(&env{stdout: io.Discard, stderr: io.Discard})
	paths := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden {
			paths[c.CommandPath()] = true
			if strings.TrimSpace(c.Example) == "" {
				t.Errorf("%s has no example", c.CommandPath())
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for path, text := range examples {
		if !paths[path] {
			t.Errorf("examples name %q, which is no command", path)
			continue
		}
		ran := false
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			words, err := shellWords(line)
			if err != nil {
				t.Errorf("%s: %q: %v", path, line, err)
				continue
			}
			if err := checkInvocation(words); err != nil {
				t.Errorf("%s: %q: %v", path, line, err)
			}
			if strings.HasPrefix(strings.Join(words, " "), path) {
				ran = true
			}
		}
		if !ran {
			t.Errorf("no example of %s runs it", path)
		}
	}
}

func checkInvocation(words []string) error {
	if len(words) == 0 || words[0] != "lanyard" {
		return fmt.Errorf("does not start with lanyard")
	}
	for i, w := range words {
		if strings.HasPrefix(w, "$(") {
			words[i] = "substituted" // what the shell would put there
			inner, err := shellWords(strings.TrimSuffix(strings.TrimPrefix(w, "$("), ")"))
			if err != nil {
				return err
			}
			if err := checkInvocation(inner); err != nil {
				return fmt.Errorf("in %s: %w", w, err)
			}
		}
	}
	e := &env{stdout: io.Discard, stderr: io.Discard}
	root := newRoot(e)
	cmd, rest, err := root.Find(words[1:])
	if err != nil {
		return err
	}
	if !cmd.Runnable() {
		return fmt.Errorf("%s is not a command that runs", cmd.CommandPath())
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return err
	}
	if err := cmd.ValidateFlagGroups(); err != nil {
		return err
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return err
	}
	if err := checkOutput(e.output, e.query); err != nil {
		return err
	}
	for _, name := range []string{"name", "resource-group", "identity-name"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed && len(f.Value.String()) < 3 {
			return fmt.Errorf("--%s %q is shorter than 3 characters", name, f.Value.String())
		}
	}
	return nil
}

// shellWords splits a line as a POSIX shell would for the simple lines of examples:
// quotes group, and a command substitution is one word.
func shellWords(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '"' || c == '$' && i+1 < len(line) && line[i+1] == '(':
			// A double-quoted word, which may hold $(...) with quotes of its own.
			depth, quoted := 0, c == '"'
			j := i
			if quoted {
				j++
			}
			start := j
			for ; j < len(line); j++ {
				if strings.HasPrefix(line[j:], "$(") {
					depth++
					j++
					continue
				}
				if line[j] == ')' && depth > 0 {
					depth--
					if depth == 0 && !quoted {
						break
					}
					continue
				}
				if line[j] == '"' && quoted && depth == 0 {
					break
				}
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unclosed quote or substitution")
			}
			if quoted {
				cur.WriteString(line[start:j])
			} else {
				cur.WriteString(line[start : j+1])
			}
			i = j
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
