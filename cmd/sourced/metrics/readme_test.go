package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/cmd/sourced/metrics"
)

// TestREADMEListsEveryName checks the metric table of README's "Metrics
// and health" against Names: every sourced_* family is documented, and
// nothing documented is missing. A row may abbreviate names after its
// first one (`sourced_view_batches_total`, `_documents_total`): those
// share the first name's first two words.
func TestREADMEListsEveryName(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n| metric | labels |\n")
	if !ok {
		t.Fatal(`README has no "| metric | labels |" table`)
	}
	table, _, _ = strings.Cut(table, "\n\n")
	name := regexp.MustCompile("`(sourced_[a-z_]+|_[a-z_]+)`")
	documented := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		metric, _, _ := strings.Cut(strings.TrimPrefix(row, "|"), "|") // the first column
		prefix := ""
		for _, m := range name.FindAllStringSubmatch(metric, -1) {
			n := m[1]
			if strings.HasPrefix(n, "_") {
				if prefix == "" {
					t.Errorf("README row %q abbreviates %s before naming a metric in full", row, n)
					continue
				}
				n = prefix + n
			} else if prefix == "" {
				words := strings.SplitN(n, "_", 3)
				prefix = words[0] + "_" + words[1]
			}
			documented[n] = true
		}
	}
	names := metrics.Names()
	for _, n := range names {
		if strings.HasPrefix(n, "sourced_") && !documented[n] {
			t.Errorf("README's metric table lacks %s", n)
		}
	}
	for n := range documented {
		if !slices.Contains(names, n) {
			t.Errorf("README's metric table lists %s, which sourced does not export", n)
		}
	}
}
