package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf16"

	jmespath "github.com/jmespath-community/go-jmespath"
	"go.yaml.in/yaml/v3"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// formats are the values of --output, as in az.
var formats = []string{"json", "jsonc", "table", "tsv", "yaml", "none"}

// printer writes results as az does: indented JSON by default, or JSON in colour, a table
// for people, tab-separated values for scripts, YAML, or nothing. A JMESPath query, when
// given, picks from the result first. Every value may have come in someone's request (a
// token's resource, a blob name), so no format lets a control or format character reach
// the terminal raw: tables and TSV show visible escapes, one value, one cell; JSON and
// YAML escape them as their syntax allows.
type printer struct {
	format  string // one of formats
	query   string // JMESPath
	columns []column
}

// column names a table column and the (flattened) JSON field it shows.
type column struct{ title, field string }

func cols(pairs ...string) []column {
	var out []column
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, column{pairs[i], pairs[i+1]})
	}
	return out
}

// checkOutput validates --output and --query before any call is made.
func checkOutput(format, query string) error {
	if !slices.Contains(formats, format) {
		return fmt.Errorf("--output %q: use one of %s", format, strings.Join(formats, ", "))
	}
	if query != "" {
		if _, err := jmespath.Compile(query); err != nil {
			return fmt.Errorf("--query %q is not a valid JMESPath expression: %w", query, err)
		}
	}
	return nil
}

func (p printer) print(w io.Writer, v any) error {
	if p.query != "" {
		g, err := plain(v)
		if err != nil {
			return err
		}
		if v, err = jmespath.Search(p.query, g); err != nil {
			return fmt.Errorf("--query %q: %w", p.query, err)
		}
		p.columns = nil // the query decides the shape, as in az
	}
	switch p.format {
	case "none":
		return nil
	case "table":
		return p.table(w, v)
	case "tsv":
		return tsv(w, v)
	case "yaml":
		return yamlOut(w, v)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	s := jsonEscapeInvisible(b)
	if p.format == "jsonc" {
		s = colorJSON(s)
	}
	_, err = fmt.Fprintln(w, s)
	return err
}

// plain gives v the shapes JSON decodes to (maps, slices, strings, float64, bool, nil),
// which JMESPath and the generic formats work on. Values already of those shapes are kept
// as they are, so that strings keep their bytes for the escapes.
func plain(v any) (any, error) {
	switch t := v.(type) {
	case nil, string, bool, float64, map[string]any, []any:
		return t, nil
	case []map[string]any:
		out := make([]any, len(t))
		for i, m := range t {
			out[i] = m
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return out, nil
}

// jsonEscapeInvisible escapes, as \uXXXX, what encoding/json leaves raw but a terminal
// acts on or that reorders the text: DEL, C1 controls and format characters such as bidi
// overrides. encoding/json escapes C0 controls and replaces invalid UTF-8 already. Such
// characters can only be inside strings, where the escape means the same character, so
// the output decodes to the same values.
func jsonEscapeInvisible(b []byte) string {
	s := string(b)
	if !strings.ContainsFunc(s, invisible) {
		return s
	}
	var out strings.Builder
	for _, r := range s {
		if !invisible(r) {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.String()
}

// invisible spares the line breaks and spaces of indented JSON.
func invisible(r rune) bool { return r != '\n' && lanyard.IsControlOrFormat(r) }

func (p printer) table(w io.Writer, v any) error {
	g, err := plain(v)
	if err != nil {
		return err
	}
	var rows []map[string]any
	switch t := g.(type) {
	case map[string]any:
		rows = []map[string]any{t}
	case []any:
		for _, item := range t {
			m, ok := item.(map[string]any)
			if !ok {
				rows = nil
				break
			}
			rows = append(rows, m)
		}
		if rows == nil && len(t) > 0 {
			// A list of values (a query such as [].name): one column, as az's Result.
			for _, item := range t {
				rows = append(rows, map[string]any{"Result": item})
			}
		}
	default:
		rows = []map[string]any{{"Result": t}}
	}
	columns := p.columns
	if len(columns) == 0 {
		columns = autoColumns(rows)
	}
	if len(columns) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var titles, rules []string
	for _, c := range columns {
		titles = append(titles, lanyard.Printable(c.title))
		rules = append(rules, strings.Repeat("-", len(c.title)))
	}
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	fmt.Fprintln(tw, strings.Join(rules, "\t"))
	for _, r := range rows {
		var cells []string
		for _, c := range columns {
			cells = append(cells, cell(lookup(r, c.field)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// autoColumns are the scalar fields of the rows, as az picks them for a table it was
// given no columns for; titles start with a capital as az's do.
func autoColumns(rows []map[string]any) []column {
	seen := map[string]bool{}
	var keys []string
	for _, r := range rows {
		for k, v := range r {
			switch v.(type) {
			case map[string]any, []any:
				continue
			}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	var out []column
	for _, k := range keys {
		title := k
		if k != "" {
			title = strings.ToUpper(k[:1]) + k[1:]
		}
		out = append(out, column{title, k})
	}
	return out
}

// tsv writes values as az's -o tsv does, for scripts: a list is one line per item, an
// object's values are sorted by key and separated by tabs, with no headers; a nested list
// shows its length and a nested object nothing; null is None and booleans True and False,
// as Python prints them.
func tsv(w io.Writer, v any) error {
	g, err := plain(v)
	if err != nil {
		return err
	}
	items, ok := g.([]any)
	if !ok {
		items = []any{g}
	}
	var b strings.Builder
	for _, item := range items {
		switch t := item.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(tsvValue(t[k]))
			}
		case []any:
			for i, x := range t {
				if i > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(tsvValue(x))
			}
		default:
			b.WriteString(tsvValue(t))
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func tsvValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case string:
		return lanyard.Printable(t) // a tab or line break in a value would start a new cell
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case []any:
		return strconv.Itoa(len(t))
	case map[string]any:
		return ""
	}
	return lanyard.Printable(fmt.Sprint(v))
}

// yamlOut writes v as YAML. Strings holding characters a terminal acts on are written
// double-quoted, where YAML has escapes, and those characters escaped.
func yamlOut(w io.Writer, v any) error {
	g, err := plain(v)
	if err != nil {
		return err
	}
	n, err := yamlNode(g)
	if err != nil {
		return err
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = io.WriteString(w, jsonEscapeInvisible([]byte(b.String())))
	return err
}

func yamlNode(v any) (*yaml.Node, error) {
	switch t := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val, err := yamlNode(t[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, yamlString(k), val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, x := range t {
			val, err := yamlNode(x)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	case string:
		return yamlString(t), nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return n, nil
}

func yamlString(s string) *yaml.Node {
	s = strings.ToValidUTF8(s, "\ufffd")
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsFunc(s, invisible) || strings.ContainsFunc(s, unicode.IsControl) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// colorJSON colours indented JSON as az's jsonc does: keys, strings and other values
// apart. The input holds no raw control characters, so the colours are the only escapes.
func colorJSON(s string) string {
	const (
		keyColor   = "\x1b[94m"
		strColor   = "\x1b[32m"
		otherColor = "\x1b[36m"
		reset      = "\x1b[0m"
	)
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			color := strColor
			if j < len(s) && s[j] == ':' {
				color = keyColor
			}
			b.WriteString(color + s[i:j] + reset)
			i = j
		case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(s) && !strings.ContainsRune(",]}\n ", rune(s[j])) {
				j++
			}
			b.WriteString(otherColor + s[i:j] + reset)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// lookup follows a dotted path such as properties.provisioningState.
func lookup(m map[string]any, path string) any {
	var v any = m
	for _, part := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[part]
	}
	return v
}

func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return lanyard.Printable(t)
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return lanyard.Printable(strings.Join(keys, ","))
	default:
		b, _ := json.Marshal(t)
		return lanyard.Printable(jsonEscapeInvisible(b))
	}
}

// flatten turns an ARM resource into az's output shape: properties lifted to the top level
// and the resource group named.
func flatten(res map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range res {
		if k != "properties" {
			out[k] = v
		}
	}
	if props, ok := res["properties"].(map[string]any); ok {
		for k, v := range props {
			out[k] = v
		}
	}
	if id, ok := res["id"].(string); ok {
		if rid, err := lanyard.ParseResourceID(id); err == nil && rid.ResourceGroup != "" {
			out["resourceGroup"] = rid.ResourceGroup
		}
	}
	return out
}

func flattenAll(list []map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(list))
	for _, r := range list {
		out = append(out, flatten(r))
	}
	return out
}

// prose renders a server's explanation for people: its lines stay lines, and anything in
// them that a terminal would act on is escaped.
func prose(v any) string {
	s, _ := v.(string)
	return lanyard.PrintableText(s)
}
