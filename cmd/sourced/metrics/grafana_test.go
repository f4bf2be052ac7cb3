package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestGrafanaDashboardUsesExportedMetrics checks every PromQL query of the
// dashboards in deploy/grafana/dashboards against the metric families the
// binary registers (Names), so a renamed or missing metric fails here
// rather than as an empty panel in production.
func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	exported := Names()
	files, err := filepath.Glob("../../../deploy/grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards found in deploy/grafana/dashboards (%v)", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Title  string `json:"title"`
			UID    string `json:"uid"`
			Panels []struct {
				Type    string `json:"type"`
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Type       string `json:"type"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &dash); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if dash.UID == "" || dash.Title == "" {
			t.Errorf("%s: dashboard without uid or title", file)
		}
		var queries []string
		for _, p := range dash.Panels {
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", file, p.Title)
			}
			for _, tg := range p.Targets {
				queries = append(queries, tg.Expr)
			}
		}
		for _, v := range dash.Templating.List {
			if v.Type == "query" {
				queries = append(queries, v.Definition)
			}
		}
		checked := 0
		for _, q := range queries {
			names := promqlMetricNames(q)
			if len(names) == 0 {
				t.Errorf("%s: query %q names no metric", file, q)
			}
			for _, n := range names {
				checked++
				if !slices.Contains(exported, n) && !slices.Contains(exported, histogramFamily(n)) {
					t.Errorf("%s: query %q uses %s, which sourced does not export", file, q, n)
				}
			}
		}
		t.Logf("%s: %d queries, %d metric references checked", file, len(queries), checked)
	}
}

// histogramFamily strips the series suffixes Prometheus adds to a
// histogram's family name.
func histogramFamily(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, s); ok {
			return base
		}
	}
	return name
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	labelValues    = regexp.MustCompile(`^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "atan2": true, "start": true, "end": true}
)

// promqlMetricNames returns the metric names a PromQL expression (or a
// Grafana label_values query) selects: identifiers outside strings, label
// matchers, ranges and grouping clauses that are not functions, keywords,
// numbers, durations or Grafana variables.
func promqlMetricNames(expr string) []string {
	if m := labelValues.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	s := promqlStrings.ReplaceAllString(expr, " ")
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	var names []string
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '$' || c >= '0' && c <= '9' || c == '.':
			// A Grafana variable, a number or a duration: skip it whole.
			i++
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if !(k < len(s) && s[k] == '(') && !promqlKeywords[strings.ToLower(word)] {
				names = append(names, word)
			}
			i = j
		default:
			i++
		}
	}
	return names
}

func TestPromqlMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (aggregate, status) (rate(sourced_commands_total{aggregate=~"$aggregate"}[$__rate_interval]))`: {"sourced_commands_total"},
		`histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) / on(job) group_left b offset 1h`:          {"a_bucket", "b"},
		`sum(rate(x_total{route="POST /v1/{aggregate}"}[1m])) > bool 0.5 and up`:                               {"x_total", "up"},
		`label_values(sourced_commands_total, aggregate)`:                                                      {"sourced_commands_total"},
		`max without (instance) (nope_metric)`:                                                                 {"nope_metric"},
	} {
		if got := promqlMetricNames(expr); !slices.Equal(got, want) {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
