package esyaml_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

// TestPlan checks the checked-in scope and skip files: they parse, every
// entry has a reason and names an existing section (LoadPlan validates
// that), and the corpus has the sections es-semantics.md section 4.4
// counts.
func TestPlan(t *testing.T) {
	plan, err := esyaml.LoadPlan(os.DirFS("testdata"), "conformance-scope.yaml", "conformance-skip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	inScope := 0
	for _, s := range plan.Suites {
		counts[s.Name] = s.SectionCount()
		for _, f := range s.Files {
			for _, sec := range f.Sections {
				if plan.InScope(s.Name, f.Name, sec.Name) {
					inScope++
				}
			}
		}
	}
	if counts["opensearch"] != 158 || counts["elasticsearch"] != 19 || counts["ours"] == 0 {
		t.Errorf("section counts %v, want 158 opensearch, 19 elasticsearch and some of ours", counts)
	}
	t.Logf("sections %v; in scope %d; out of scope %d; skipped by the plan %d", counts, inScope, len(plan.OutOfScope), len(plan.Skip))
}

func TestLoadPlanRejectsBadEntries(t *testing.T) {
	dir := t.TempDir()
	scope := `
suites:
  - {name: es, tests: tests, specs: api, version: 8.19.0}
out_of_scope:
  - {suite: es, file: a.yml, section: "t", reason: ""}
  - {suite: es, file: a.yml, section: "nope", reason: "x"}
`
	for name, text := range map[string]string{
		"scope.yaml":    scope,
		"skip.yaml":     "- {suite: es, file: b.yml, section: '*', reason: x}\n",
		"tests/a.yml":   "\"t\":\n  - do: { info: {} }\n",
		"api/info.json": `{"info":{"url":{"paths":[{"path":"/","methods":["GET"]}]}}}`,
	} {
		if err := os.MkdirAll(dir+"/"+name[:strings.LastIndex(name, "/")+1], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := esyaml.LoadPlan(os.DirFS(dir), "scope.yaml", "skip.yaml")
	if err == nil {
		t.Fatal("LoadPlan accepted bad entries")
	}
	for _, want := range []string{"no reason", `no section "nope"`, `no file "b.yml"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestWriteJUnit(t *testing.T) {
	results := []esyaml.Result{
		{Suite: "s", File: "a.yml", Section: "ok", Outcome: esyaml.Pass, Duration: time.Millisecond},
		{Suite: "s", File: "a.yml", Section: "bad", Outcome: esyaml.Fail, Failure: "step 1: <boom>"},
		{Suite: "s", File: "a.yml", Section: "tolerated", Outcome: esyaml.Fail, Failure: "meh"},
		{Suite: "s", File: "b.yml", Section: "later", Outcome: esyaml.Skipped, Reason: "feature x"},
	}
	var buf bytes.Buffer
	err := esyaml.WriteJUnit(&buf, results, func(r esyaml.Result) bool { return r.Section != "tolerated" })
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`<testsuite name="s" tests="4" failures="1" skipped="1">`,
		`<failure message="in-scope section failed">step 1: &lt;boom&gt;</failure>`,
		`<skipped message="feature x"></skipped>`,
		"out-of-scope section failed (reported only):&#xA;meh",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
