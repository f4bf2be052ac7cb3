package app

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// importRules is the import table of DESIGN.md's Layout, as README's Layout
// lists it: for each folder (the longest matching prefix applies), the
// folders of ours its packages may import (a folder allows its whole
// subtree). Every package may import its own folder's subtree.
var importRules = map[string][]string{
	"codecs": {},
	// Small containers the libraries share: nothing of ours.
	"internal":   {},
	"state":      {"codecs"},
	"processors": {"codecs", "state", "internal"},
	// The Kafka plumbing every role shares (processors may import it as
	// their own subtree; views may import it, not processors).
	"processors/kafka": {"codecs"},
	// The embedded broker runs the patched kfake; its test helper names
	// the shared Apache Kafka of the test infrastructure when there is one.
	"processors/kafka/broker":            {"codecs", "processors/kafka", "third_party/kfake"},
	"processors/kafka/broker/brokertest": {"processors/kafka", "scripts/stack/stacktest", "third_party/kfake"},
	// views never import processors (the reference views read the
	// reference aggregates' events as codecs and their own types).
	"views": {"codecs", "state", "processors/kafka", "internal"},
	// Test infrastructure: the servers tests run against.
	"scripts": {"views/elastic/estest", "third_party/kfake"},
	// Patched copies of other projects' code: nothing of ours.
	"third_party": {},
	// cmd/ wires everything together; nothing else imports it.
	"cmd": {"codecs", "state", "processors", "views", "scripts", "internal"},
}

// noPrometheus are the folders whose packages (tests included) must not
// depend on Prometheus, even indirectly: libraries expose hooks, and
// cmd/sourced/metrics registers every metric (DESIGN.md's Layout).
var noPrometheus = []string{"codecs", "state", "processors", "views", "scripts"}

const prometheusModule = "github.com/prometheus/"

// TestImportsFollowTheLayout checks every package of the module (test
// files aside) against importRules, and the packages of noPrometheus
// (their tests too) against any dependency on Prometheus, with
// `go list -json`.
func TestImportsFollowTheLayout(t *testing.T) {
	const module = "github.com/b2dc4357/sourced/"
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath   string
			Imports      []string
			Deps         []string
			TestImports  []string
			XTestImports []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, module)
		folder := ruleFor(pkg)
		if folder == "" {
			t.Errorf("%s: in no folder of the Layout table", pkg)
			continue
		}
		checked++
		if slices.ContainsFunc(noPrometheus, func(f string) bool { return pkg == f || strings.HasPrefix(pkg, f+"/") }) {
			for _, imp := range slices.Concat(p.Deps, p.TestImports, p.XTestImports) {
				if strings.HasPrefix(imp, prometheusModule) {
					t.Errorf("%s depends on %s: Prometheus is registered in cmd/ only (cmd/sourced/metrics); expose a hook instead", pkg, imp)
					break
				}
			}
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if !mayImport(folder, imp) {
				t.Errorf("%s imports %s: %s/ may import only its own subtree and %v", pkg, imp, folder, importRules[folder])
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d packages: go list found too few", checked)
	}
}

// ruleFor returns the folder of importRules that governs pkg.
func ruleFor(pkg string) string {
	var folders []string
	for f := range importRules {
		folders = append(folders, f)
	}
	sort.Slice(folders, func(i, j int) bool { return len(folders[i]) > len(folders[j]) })
	for _, f := range folders {
		if pkg == f || strings.HasPrefix(pkg, f+"/") {
			return f
		}
	}
	return ""
}

func mayImport(folder, imp string) bool {
	for _, allowed := range append([]string{folder}, importRules[folder]...) {
		if imp == allowed || strings.HasPrefix(imp, allowed+"/") {
			return true
		}
	}
	return false
}
