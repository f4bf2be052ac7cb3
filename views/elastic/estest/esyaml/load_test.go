package esyaml_test

import (
	"os"
	"testing"

	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

func TestLoadCorpus(t *testing.T) {
	fsys := os.DirFS("testdata/es-rest-yaml")
	os, err := esyaml.LoadSuite(fsys, "opensearch", "3.6.0", ".", "api")
	if err != nil {
		t.Fatal(err)
	}
	es, err := esyaml.LoadSuite(fsys, "elasticsearch", "8.19.0", "_elasticsearch-8.19/tests", "_elasticsearch-8.19/api")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("opensearch files=%d sections=%d specs=%d", len(os.Files), os.SectionCount(), len(os.Specs))
	t.Logf("es files=%d sections=%d specs=%d", len(es.Files), es.SectionCount(), len(es.Specs))
	for _, s := range []*esyaml.Suite{os, es} {
		for _, f := range s.Files {
			for _, sec := range f.Sections {
				if r := esyaml.SkipReason(f, sec, s.Version); r != "" {
					t.Logf("skip %s/%s: %s", f.Name, sec.Name, r)
				}
			}
		}
	}
}
