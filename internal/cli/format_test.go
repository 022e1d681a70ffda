package cli

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var sample = []map[string]any{
	{"name": "id1", "clientId": "c1", "enabled": true, "tags": map[string]any{"a": "b"}, "scopes": []any{"x", "y"}, "count": float64(3), "note": nil},
	{"name": "id2", "clientId": "c2", "enabled": false, "tags": map[string]any{}, "scopes": []any{}, "count": float64(12345678901), "note": "tab\there"},
}

func format(t *testing.T, p printer, v any) string {
	t.Helper()
	var out bytes.Buffer
	if err := p.print(&out, v); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// tsv is az's: values only, sorted by key, tab-separated, no header; a list shows its
// length, an object nothing, null None; a tab in a value is escaped, not a new cell.
func TestTSV(t *testing.T) {
	got := format(t, printer{format: "tsv"}, sample)
	want := "c1\t3\tTrue\tid1\tNone\t2\t\n" + "c2\t12345678901\tFalse\tid2\ttab\\there\t0\t\n"
	if got != want {
		t.Errorf("tsv:\n%q\nwant\n%q", got, want)
	}
	if got := format(t, printer{format: "tsv", query: "[].name"}, sample); got != "id1\nid2\n" {
		t.Errorf("tsv of [].name: %q", got)
	}
	if got := format(t, printer{format: "tsv", query: "[0].clientId"}, sample); got != "c1\n" {
		t.Errorf("tsv of one value: %q", got)
	}
}

// --query applies before the format, and replaces a command's columns with the shape it
// makes, as in az.
func TestQueryBeforeFormat(t *testing.T) {
	p := printer{format: "table", query: "[].{Name:name, Id:clientId}", columns: cols("Enabled", "enabled")}
	got := format(t, p, sample)
	want := "Id  Name\n--  ----\nc1  id1\nc2  id2\n"
	if got != want {
		t.Errorf("table of a query:\n%s\nwant\n%s", got, want)
	}
	if got := format(t, printer{format: "json", query: "length(@)"}, sample); got != "2\n" {
		t.Errorf("json of length(@): %q", got)
	}
	if got := format(t, printer{format: "table", query: "[].name"}, sample); got != "Result\n------\nid1\nid2\n" {
		t.Errorf("table of a list of values:\n%s", got)
	}
	// A struct result is queried by its JSON names.
	type rep struct {
		OK      bool  `json:"ok"`
		Checked int64 `json:"checked"`
	}
	if got := format(t, printer{format: "tsv", query: "checked"}, rep{true, 9}); got != "9\n" {
		t.Errorf("query on a struct: %q", got)
	}
}

func TestTableWithoutColumnsShowsScalars(t *testing.T) {
	got := format(t, printer{format: "table"}, map[string]any{"accessToken": "eyJ", "expires_on": float64(17), "nested": map[string]any{"a": 1}})
	want := "AccessToken  Expires_on\n-----------  ----------\neyJ          17\n"
	if got != want {
		t.Errorf("table:\n%s\nwant\n%s", got, want)
	}
}

func TestYAML(t *testing.T) {
	got := format(t, printer{format: "yaml"}, sample)
	var back []map[string]any
	if err := yaml.Unmarshal([]byte(got), &back); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, got)
	}
	if len(back) != 2 || back[0]["name"] != "id1" || back[1]["note"] != "tab\there" || back[0]["enabled"] != true {
		t.Errorf("YAML decodes to %v:\n%s", back, got)
	}
	// Hostile values are escaped inside double quotes and decode to themselves.
	got = format(t, printer{format: "yaml"}, map[string]any{"action": hostile})
	for _, raw := range []string{"\x1b", "\u202e", "\x7f", "\u009b"} {
		if strings.Contains(got, raw) {
			t.Errorf("YAML output holds a raw %q:\n%q", raw, got)
		}
	}
	var m map[string]string
	if err := yaml.Unmarshal([]byte(got), &m); err != nil || m["action"] != strings.ToValidUTF8(hostile, "\ufffd") {
		t.Errorf("hostile YAML decodes to %q (%v):\n%s", m["action"], err, got)
	}
}

func TestJSONCAndNone(t *testing.T) {
	got := format(t, printer{format: "jsonc"}, map[string]any{"name": "id1", "n": float64(2)})
	if !strings.Contains(got, "\x1b[94m\"name\"\x1b[0m: \x1b[32m\"id1\"\x1b[0m") || !strings.Contains(got, "\x1b[36m2\x1b[0m") {
		t.Errorf("jsonc: %q", got)
	}
	if got := format(t, printer{format: "none"}, sample); got != "" {
		t.Errorf("none printed %q", got)
	}
}

// Bad --output and --query values are refused before any call, with what to use.
func TestOutputAndQueryChecked(t *testing.T) {
	f := newFakeAPI(t)
	f.json("GET /subscriptions/sub-1/resourceGroups", http.StatusOK, map[string]any{"value": []map[string]any{{"name": "demo"}}})
	_, errOut, code := f.run("group", "list", "-o", "xml")
	if code != 1 || !strings.Contains(errOut, "json, jsonc, table, tsv, yaml, none") {
		t.Errorf("-o xml: exit %d, %s", code, errOut)
	}
	_, errOut, code = f.run("group", "list", "--query", "[?name=='demo'")
	if code != 1 || !strings.Contains(errOut, "not a valid JMESPath") || f.called("GET /subscriptions/sub-1/resourceGroups") != 0 {
		t.Errorf("bad query: exit %d, %s", code, errOut)
	}
	out, errOut, code := f.run("group", "list", "--query", "[].name", "-o", "tsv")
	if code != 0 || out != "demo\n" {
		t.Errorf("group list --query: exit %d, %q %s", code, out, errOut)
	}
}
