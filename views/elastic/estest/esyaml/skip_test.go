package esyaml_test

import (
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

func TestVersionInRange(t *testing.T) {
	v := esyaml.Version{3, 6, 0}
	cases := []struct {
		ranges string
		want   bool
	}{
		{" - 2.11.99", false},
		{"- 3.6.0", true},
		{"3.6.0 - ", true},
		{"3.6.1 - ", false},
		{"1.0.0 - 2.0.0, 3.0.0 - 3.99.99", true},
		{"all", true},
		{"2.0.0 - 3.5.99", false},
	}
	for _, c := range cases {
		got, err := v.InRange(c.ranges)
		if err != nil || got != c.want {
			t.Errorf("InRange(%q) = %v, %v; want %v", c.ranges, got, err, c.want)
		}
	}
	if _, err := v.InRange("3.0.0"); err == nil {
		t.Error("InRange without '-' did not fail")
	}
	if got, _ := esyaml.ParseVersion("8.19.0-SNAPSHOT"); got.Compare(esyaml.Version{8, 19}) != 0 {
		t.Errorf("ParseVersion(8.19.0-SNAPSHOT) = %v", got)
	}
}

func TestSkipReason(t *testing.T) {
	f, err := esyaml.ParseFile([]byte(`
---
requires:
  stack: true
  serverless: true
---
"old":
  - skip: { version: " - 2.11.99", reason: "introduced in 2.12.0" }
  - do: { info: {} }
---
"new":
  - skip: { version: "3.0.0 - ", reason: "changed in 3.0.0" }
  - do: { info: {} }
---
"needs a feature":
  - skip: { features: [headers, node_selector] }
  - do: { info: {} }
---
"needs es cluster features":
  - requires: { cluster_features: [gte_v8.15.0], reason: "new" }
  - do: { info: {} }
---
"uses contains":
  - do: { info: {} }
  - contains: { a: b }
---
"uses node_selector":
  - do:
      node_selector: { version: current }
      info: {}
`), "x.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"old":                       "",
		"new":                       `version 3.6.0 in skip range "3.0.0 -": changed in 3.0.0`,
		"needs a feature":           `runner feature "node_selector" not supported`,
		"needs es cluster features": "cluster features [gte_v8.15.0] cannot be evaluated (new)",
		"uses contains":             `runner does not implement step "contains"`,
		"uses node_selector":        "runner does not implement do.node_selector",
	}
	for _, s := range f.Sections {
		got := esyaml.SkipReason(f, s, esyaml.Version{3, 6, 0})
		if w := want[s.Name]; (w == "") != (got == "") || !strings.HasPrefix(got, w) {
			t.Errorf("%s: SkipReason = %q, want %q", s.Name, got, w)
		}
	}
	f.Requires["stack"] = false
	if got := esyaml.SkipReason(f, f.Sections[0], esyaml.Version{3, 6, 0}); got != "requires: stack is not true" {
		t.Errorf("stack false: SkipReason = %q", got)
	}
}

func TestParseFileKeepsScalarTypes(t *testing.T) {
	f, err := esyaml.ParseFile([]byte(`
"t":
  - do: { index: { index: i, id: 1, body: { a: "1", b: 1, c: 1.5, d: true, e: null, f: 2019-10-21 } } }
`), "t.yml")
	if err != nil {
		t.Fatal(err)
	}
	args := f.Sections[0].Steps[0].Do.Args
	if _, ok := args["id"].(int64); !ok {
		t.Errorf("id is %T, want int64", args["id"])
	}
	body := args["body"].(map[string]any)
	for k, want := range map[string]any{"a": "1", "b": int64(1), "c": 1.5, "d": true, "e": nil, "f": "2019-10-21"} {
		if body[k] != want {
			t.Errorf("body.%s = %#v, want %#v", k, body[k], want)
		}
	}
}
