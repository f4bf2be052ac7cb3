package esyaml_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

// target returns the Runner configuration: the cluster at ES_URL when set
// (with ES_USERNAME/ES_PASSWORD or ES_API_KEY, and ES_INSECURE_TLS=1 for
// self-signed certificates); on the real stack (SOURCED_TEST_ES) a
// dedicated Elasticsearch node, because the corpus uses fixed index names,
// changes a cluster setting and deletes every index a section leaves,
// which would break tests sharing the node; otherwise a fresh in-memory
// estest server.
func target(t *testing.T) (cfg esyaml.Config, name string) {
	t.Helper()
	if u := os.Getenv("ES_URL"); u != "" {
		return esyaml.Config{
			BaseURL:     u,
			Username:    os.Getenv("ES_USERNAME"),
			Password:    os.Getenv("ES_PASSWORD"),
			APIKey:      os.Getenv("ES_API_KEY"),
			InsecureTLS: os.Getenv("ES_INSECURE_TLS") == "1" || os.Getenv("ES_INSECURE_TLS") == "true",
		}, "ES_URL " + u
	}
	if stacktest.RealES() != "" {
		es := stacktest.OwnElasticsearch(t, stack.ESOptions{})
		return esyaml.Config{BaseURL: es.URL()}, "Elasticsearch " + stack.ElasticsearchVersion + " (own node)"
	}
	ts := httptest.NewServer(estest.New(estest.Options{}))
	t.Cleanup(ts.Close)
	return esyaml.Config{BaseURL: ts.URL}, "estest"
}

// rootSections need GET / or HEAD /, which the integ-test distribution of
// Elasticsearch (realstack's) does not serve: it lacks the rest-root module.
var rootSections = map[[3]string]bool{
	{"elasticsearch", "info_stack.yml", "info"}: true,
	{"elasticsearch", "ping/ping.yml", "ping"}:  true,
}

// unsignedLongSections map an unsigned_long field, a mapper of an x-pack
// module the integ-test distribution does not have.
var unsignedLongSections = map[[3]string]bool{
	{"opensearch", "search/90_search_after.yml", "numeric skipping logic with competitive missing value"}: true,
	{"opensearch", "search/90_search_after.yml", "unsigned long"}:                                         true,
}

// serverSkips returns the sections the server cannot run, with the
// reason: rootSections and unsignedLongSections on a server whose GET /
// answers 405 (the integ-test distribution).
func serverSkips(t *testing.T, baseURL string, insecure bool) map[[3]string]string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	if insecure {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // opt-in for self-signed test clusters
	}
	resp, err := c.Get(strings.TrimRight(baseURL, "/") + "/")
	if err != nil {
		t.Fatalf("probe GET /: %v", err)
	}
	resp.Body.Close()
	skips := map[[3]string]string{}
	if resp.StatusCode == http.StatusMethodNotAllowed {
		for k := range rootSections {
			skips[k] = "GET / and HEAD / answer 405: the server lacks the rest-root module (the integ-test distribution)"
		}
		for k := range unsignedLongSections {
			skips[k] = "maps an unsigned_long field: the integ-test distribution lacks the x-pack unsigned-long mapper (no rest-root module either, so this is that distribution)"
		}
	}
	return skips
}

// TestRESTConformance runs the YAML corpus (upstream OpenSearch 3.6.0
// tests, the ES 8.19 client tests and ours) as sub-tests named
// suite/file/section. In-scope sections (testdata/conformance-scope.yaml)
// must pass; out-of-scope ones run and are only reported; the sections in
// testdata/conformance-skip.yaml are skipped with their reason. Set
// ESYAML_REPORT=path to also write a JUnit XML report.
func TestRESTConformance(t *testing.T) {
	plan, err := esyaml.LoadPlan(os.DirFS("testdata"), "conformance-scope.yaml", "conformance-skip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, name := target(t)
	skips := serverSkips(t, cfg.BaseURL, cfg.InsecureTLS)
	r, err := esyaml.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	restore, err := r.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := restore(ctx); err != nil {
			t.Error(err)
		}
	}()

	var results []esyaml.Result
	inScope := func(res esyaml.Result) bool { return plan.InScope(res.Suite, res.File, res.Section) }
	for _, suite := range plan.Suites {
		t.Run(suite.Name, func(t *testing.T) {
			for _, f := range suite.Files {
				t.Run(f.Name, func(t *testing.T) {
					for _, sec := range f.Sections {
						t.Run(sec.Name, func(t *testing.T) {
							var res esyaml.Result
							if why, ok := skips[[3]string{suite.Name, f.Name, sec.Name}]; ok {
								res = esyaml.Result{Suite: suite.Name, File: f.Name, Section: sec.Name, Outcome: esyaml.Skipped, Reason: why}
							} else {
								res = runPlanned(ctx, r, plan, suite, f, sec)
							}
							results = append(results, res)
							switch {
							case res.Outcome == esyaml.Skipped:
								t.Skip(res.Reason)
							case res.Outcome == esyaml.Fail && inScope(res):
								t.Error(res.Failure)
							case res.Outcome == esyaml.Fail:
								t.Logf("out of scope, reported only:\n%s", res.Failure)
							}
						})
					}
				})
			}
		})
	}
	report(t, name, results, inScope)
}

// runPlanned runs one section unless the plan skips it.
func runPlanned(ctx context.Context, r *esyaml.Runner, plan *esyaml.Plan, suite *esyaml.Suite, f *esyaml.File, sec *esyaml.Section) esyaml.Result {
	if e, ok := plan.SkipEntry(suite.Name, f.Name, sec.Name); ok {
		return esyaml.Result{Suite: suite.Name, File: f.Name, Section: sec.Name, Outcome: esyaml.Skipped, Reason: "conformance-skip.yaml: " + e.Reason}
	}
	return r.RunSection(ctx, suite, f, sec)
}

// report logs the summary line, the out-of-scope outcomes and every skip
// with its reason, and writes the JUnit report ESYAML_REPORT asks for.
func report(t *testing.T, target string, results []esyaml.Result, inScope func(esyaml.Result) bool) {
	t.Helper()
	var in, out []esyaml.Result
	var total time.Duration
	for _, res := range results {
		total += res.Duration
		if inScope(res) || res.Outcome == esyaml.Skipped {
			in = append(in, res)
		} else {
			out = append(out, res)
		}
	}
	inSum, outSum := esyaml.Summarize(in), esyaml.Summarize(out)
	var b strings.Builder
	fmt.Fprintf(&b, "REST conformance against %s: %d sections; in scope: %d pass, %d fail; out of scope: %d pass, %d fail; skipped: %d (%s)",
		target, len(results), inSum.Pass, inSum.Fail, outSum.Pass, outSum.Fail, inSum.Skip, total.Round(time.Millisecond))
	for _, res := range out {
		fmt.Fprintf(&b, "\n  out of scope %s: %s/%s/%s", res.Outcome, res.Suite, res.File, res.Section)
	}
	for _, s := range inSum.Skips {
		fmt.Fprintf(&b, "\n  skip %s", s)
	}
	t.Log(b.String())
	if path := os.Getenv("ESYAML_REPORT"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := esyaml.WriteJUnit(f, results, inScope); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote JUnit report %s", path)
	}
}
