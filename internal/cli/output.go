package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf16"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// printer writes results as az does: indented JSON by default, or a table for people.
// Every value may have come in someone's request (a token's resource, a blob name), so
// tables show control and format characters as visible escapes: one value, one cell.
type printer struct {
	format  string // json or table
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

func (p printer) print(w io.Writer, v any) error {
	if p.format == "table" && len(p.columns) > 0 {
		return p.table(w, v)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintln(w, jsonEscapeInvisible(b))
	return err
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
	var rows []map[string]any
	switch t := v.(type) {
	case []map[string]any:
		rows = t
	case map[string]any:
		rows = []map[string]any{t}
	default:
		return p.print(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var titles, rules []string
	for _, c := range p.columns {
		titles = append(titles, c.title)
		rules = append(rules, strings.Repeat("-", len(c.title)))
	}
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	fmt.Fprintln(tw, strings.Join(rules, "\t"))
	for _, r := range rows {
		var cells []string
		for _, c := range p.columns {
			cells = append(cells, cell(lookup(r, c.field)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
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
