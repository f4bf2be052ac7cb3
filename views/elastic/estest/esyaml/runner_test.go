package esyaml_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

// canned is one fixed response of the fake server.
type canned struct {
	status int
	body   string
	header http.Header
}

// fake is an HTTP handler with canned responses keyed by "METHOD
// path?query" (or "METHOD path"), plus just enough index bookkeeping for
// the runner's cleanup: PUT /{index} creates, DELETE /{index} deletes and
// GET /_alias lists.
type fake struct {
	mu      sync.Mutex
	indices map[string]bool
	routes  map[string]canned
	log     []string
}

func newFake(routes map[string]canned, indices ...string) *fake {
	f := &fake{indices: map[string]bool{}, routes: routes}
	for _, i := range indices {
		f.indices[i] = true
	}
	return f
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.log = append(f.log, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
	for _, k := range []string{r.Method + " " + r.URL.RequestURI(), r.Method + " " + r.URL.Path} {
		if c, ok := f.routes[k]; ok {
			for hk, hv := range c.header {
				w.Header()[hk] = hv
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			io.WriteString(w, c.body)
			return
		}
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_alias":
		parts := []string{}
		for _, i := range sortedNames(f.indices) {
			parts = append(parts, fmt.Sprintf("%q:{\"aliases\":{}}", i))
		}
		io.WriteString(w, "{"+strings.Join(parts, ",")+"}")
	case r.Method == http.MethodPut && !strings.Contains(name, "/") && !strings.HasPrefix(name, "_"):
		f.indices[name] = true
		fmt.Fprintf(w, `{"acknowledged":true,"index":%q}`, name)
	case r.Method == http.MethodDelete && !strings.Contains(name, "/") && !strings.HasPrefix(name, "_"):
		if !f.indices[name] {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"type":"index_not_found_exception"},"status":404}`)
			return
		}
		delete(f.indices, name)
		io.WriteString(w, `{"acknowledged":true}`)
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"no handler found for uri [%s] and method [%s]","status":400}`, r.URL.Path, r.Method)
	}
}

func sortedNames(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runYAML runs every section of the YAML text against h and returns the
// results.
func runYAML(t *testing.T, h http.Handler, text string) []esyaml.Result {
	t.Helper()
	f, err := esyaml.ParseFile([]byte(text), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	suite := &esyaml.Suite{Name: "unit", Version: esyaml.Version{8, 19, 0}, Specs: loadSpecs(t, "_elasticsearch-8.19/api"), Files: []*esyaml.File{f}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	r, err := esyaml.New(esyaml.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var out []esyaml.Result
	for _, s := range f.Sections {
		out = append(out, r.RunSection(context.Background(), suite, f, s))
	}
	return out
}

func TestRunSection(t *testing.T) {
	getDoc := canned{200, `{"_index":"test","_id":"1","_version":3,"found":true,"_seq_no":2,"_source":{"n":1.0,"s":"Hello World","list":[1,2,3],"o":{"a.b":"x"}}}`, nil}
	cases := []struct {
		name   string
		routes map[string]canned
		yaml   string
		want   esyaml.Outcome
		// failure, when set, must occur in Result.Failure.
		failure string
	}{
		{
			name:   "match compares numbers by value and regexes in comments mode",
			routes: map[string]canned{"GET /test/_doc/1": getDoc},
			yaml: `
"t":
  - do: { get: { index: test, id: 1 } }
  - match: { _version: 3 }
  - match: { _source.n: 1 }
  - match: { _source.s: "/^Hello \\s World  # a comment\n $/" }
  - match: { _source.s: "/(?i)^ HELLO/" }
  - match: { _source.list: [1, 2, 3] }
  - match: { _source.o.a\.b: x }
  - match: { _source: { n: 1.0, s: "Hello World", list: [1, 2, 3], o: { a.b: x } } }
  - length: { _source.list: 3 }
  - length: { _source: 4 }
  - gt: { _seq_no: 1 }
  - gte: { _seq_no: 2 }
  - lt: { _source.n: 1.5 }
  - lte: { _version: 3 }
  - is_true: found
  - is_false: missing_field
`,
			want: esyaml.Pass,
		},
		{
			name:   "match fails on a string versus a number",
			routes: map[string]canned{"GET /test/_doc/1": getDoc},
			yaml: `
"t":
  - do: { get: { index: test, id: 1 } }
  - match: { _version: "3" }
`,
			want: esyaml.Fail, failure: `match "_version": not equal`,
		},
		{
			name:   "match on an object needs the same keys",
			routes: map[string]canned{"GET /test/_doc/1": getDoc},
			yaml: `
"t":
  - do: { get: { index: test, id: 1 } }
  - match: { _source.o: {} }
`,
			want: esyaml.Fail, failure: `expected: {}`,
		},
		{
			name: "set stashes values used in paths, bodies and embedded strings",
			routes: map[string]canned{
				"POST /test/_doc":                 {201, `{"_id":"abc","_seq_no":7}`, nil},
				"GET /test/_doc/abc":              {200, `{"_id":"abc","found":true}`, nil},
				"POST /test/_search":              {200, `{"hits":{"hits":[{"_id":"abc"}]},"abc":{"v":1}}`, nil},
				"GET /test/_doc/id-abc?routing=7": {404, `{"found":false}`, nil},
			},
			yaml: `
"t":
  - do: { index: { index: test, body: { f: 1 } } }
  - set: { _id: id, _seq_no: seq }
  - do: { get: { index: test, id: $id } }
  - match: { _id: $id }
  - do: { search: { index: test, body: { query: { ids: { values: [$id] } } } } }
  - match: { hits.hits.0._id: $id }
  - match: { $id.v: 1 }
  - match: { "${id}.v": 1 }
  - do:
      catch: missing
      get: { index: test, id: "id-${id}", routing: $seq }
`,
			want: esyaml.Pass,
		},
		{
			name: "catch names, regexes, request and param",
			routes: map[string]canned{
				"POST /test/_doc/1": {409, `{"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict"},"status":409}`, nil},
				"GET /test/_search": {400, `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"Result window is too large, from + size must be less than or equal to: [10000]"}],"caused_by":{"reason":"For input string: \"x\""}},"status":400}`, nil},
				"POST /test/_count": {500, `{"error":"boom","status":500}`, nil},
			},
			yaml: `
"t":
  - do:
      catch: conflict
      index: { index: test, id: 1, version: 1, body: {} }
  - match: { error.type: version_conflict_engine_exception }
  - match: { status: 409 }
  - do:
      catch: /Result window is too large, from \+ size must be less than or equal to[:] \[10000\]/
      search: { index: test }
  - do:
      catch: /For input string. "x"/
      search: { index: test }
  - do:
      catch: request
      count: { index: test }
  - do:
      catch: param
      create: { index: test, body: {} }
`,
			want: esyaml.Pass,
		},
		{
			name:   "a wrong catch fails",
			routes: map[string]canned{"GET /test/_doc/1": {404, `{"found":false}`, nil}},
			yaml: `
"t":
  - do:
      catch: conflict
      get: { index: test, id: 1 }
`,
			want: esyaml.Fail, failure: "catch conflict: want status 409, got 404",
		},
		{
			name:   "an uncaught error fails unless ignored",
			routes: map[string]canned{"GET /test/_doc/1": {404, `{"found":false}`, nil}},
			yaml: `
"t":
  - do: { get: { index: test, id: 1, ignore: 404 } }
  - match: { found: false }
  - do: { get: { index: test, id: 1 } }
`,
			want: esyaml.Fail, failure: "section step 3 (do, line 5): unexpected status 404",
		},
		{
			name:   "HEAD 404 is false and 200 is true",
			routes: map[string]canned{"HEAD /a": {200, ``, nil}, "HEAD /b": {404, ``, nil}},
			yaml: `
"t":
  - do: { indices.exists: { index: a } }
  - is_true: ''
  - do: { indices.exists: { index: b } }
  - is_false: ''
`,
			want: esyaml.Pass,
		},
		{
			name: "headers are sent and warnings checked",
			routes: map[string]canned{
				"POST /_bulk": {200, `{"errors":false}`, http.Header{"Warning": {`299 Elasticsearch-8.19.0-x "expected one"`, `299 Elasticsearch-8.19.0-x "surprise"`}}},
			},
			yaml: `
"t":
  - skip: { features: [headers, warnings] }
  - do:
      headers: { Content-Type: application/json }
      warnings: [ "expected one" ]
      bulk: { body: "{}" }
`,
			want: esyaml.Fail, failure: `unexpected warning "surprise"`,
		},
		{
			name: "the response and request appear in a failure",
			routes: map[string]canned{
				"POST /v/_doc/1": {201, `{"result":"created"}`, nil},
			},
			yaml: `
"t":
  - do: { index: { index: v, id: "1", body: { n: 1 } } }
  - match: { result: updated }
`,
			want: esyaml.Fail, failure: "request: POST /v/_doc/1\n  request body: {\"n\":1}\n  response: 201 {\"result\":\"created\"}",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runYAML(t, newFake(c.routes), c.yaml)
			if len(res) != 1 {
				t.Fatalf("got %d results, want 1", len(res))
			}
			if res[0].Outcome != c.want || !strings.Contains(res[0].Failure, c.failure) {
				t.Errorf("outcome %v, failure:\n%s\nwant %v with %q", res[0].Outcome, res[0].Failure, c.want, c.failure)
			}
		})
	}
}

func TestRunSectionLifecycle(t *testing.T) {
	f := newFake(map[string]canned{}, "existing")
	res := runYAML(t, f, `
setup:
  - do: { indices.create: { index: from-setup } }
---
teardown:
  - do: { indices.create: { index: from-teardown } }
---
"fails but still tears down and cleans up":
  - do: { indices.create: { index: from-section } }
  - match: { acknowledged: false }
---
"passes":
  - do: { indices.create: { index: other } }
`)
	if res[0].Outcome != esyaml.Fail || res[1].Outcome != esyaml.Pass {
		t.Fatalf("outcomes %v, %v; want fail, pass; failure: %s", res[0].Outcome, res[1].Outcome, res[0].Failure)
	}
	var deletes []string
	for _, l := range f.log {
		if strings.HasPrefix(l, "DELETE") {
			deletes = append(deletes, l)
		}
	}
	want := []string{"DELETE /from-section", "DELETE /from-setup", "DELETE /from-teardown", "DELETE /from-setup", "DELETE /from-teardown", "DELETE /other"}
	if diff := cmp.Diff(want, deletes); diff != "" {
		t.Errorf("deletes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"existing"}, sortedNames(f.indices)); diff != "" {
		t.Errorf("indices left (-want +got):\n%s", diff)
	}
}

func TestPrepareRestoresSetting(t *testing.T) {
	f := newFake(map[string]canned{
		"GET /_cluster/settings": {200, `{"persistent":{"action":{"destructive_requires_name":"true"}},"transient":{}}`, nil},
		"PUT /_cluster/settings": {200, `{"acknowledged":true}`, nil},
	})
	srv := httptest.NewServer(f)
	defer srv.Close()
	r, err := esyaml.New(esyaml.Config{BaseURL: srv.URL, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	restore, err := r.Prepare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /_cluster/settings",
		`PUT /_cluster/settings {"persistent":{"action.destructive_requires_name":false}}`,
		`PUT /_cluster/settings {"persistent":{"action.destructive_requires_name":"true"}}`,
	}
	if diff := cmp.Diff(want, f.log); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
