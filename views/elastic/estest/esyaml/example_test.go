package esyaml_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

// Example runs one YAML section against a tiny handler that answers every
// request with the same document.
func Example() {
	specs, err := esyaml.LoadSpecs(os.DirFS("testdata/es-rest-yaml/_elasticsearch-8.19"), "api")
	if err != nil {
		panic(err)
	}
	f, err := esyaml.ParseFile([]byte(`
"get a document":
  - do: { get: { index: test, id: 1 } }
  - match: { _source.n: 1 }
  - match: { _id: "/^\\d+$/" }
`), "example.yml")
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_alias" {
			io.WriteString(w, `{}`)
			return
		}
		fmt.Fprintf(w, `{"_id":"1","_source":{"n":1},"path":%q}`, r.Method+" "+r.URL.Path)
	}))
	defer srv.Close()

	r, err := esyaml.New(esyaml.Config{BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	suite := &esyaml.Suite{Name: "example", Version: esyaml.Version{8, 19, 0}, Specs: specs, Files: []*esyaml.File{f}}
	res := r.RunSection(context.Background(), suite, f, f.Sections[0])
	fmt.Println(res.Section, res.Outcome)
	// Output: get a document pass
}
