package elastic_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

func Example() {
	ts := httptest.NewServer(estest.New(estest.Options{})) // a real cluster's URL in production
	defer ts.Close()
	ctx := context.Background()

	s, err := elastic.New(elastic.Config{URLs: []string{ts.URL}})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	if _, err := s.Ping(ctx); err != nil {
		panic(err)
	}
	m := views.Mapping{Properties: map[string]views.Field{"customer": {Type: views.Text}}}
	if err := s.CreateIndex(ctx, "invoice-search-1", m); err != nil {
		panic(err)
	}
	if err := s.UpdateAliases(ctx, []views.AliasAction{{Kind: views.AddAlias, Index: "invoice-search-1", Alias: "invoice-search"}}); err != nil {
		panic(err)
	}
	res, err := s.Bulk(ctx, []views.Op{
		{Index: "invoice-search", ID: "inv-1", Version: 3, Doc: json.RawMessage(`{"customer":"Ann Lee"}`)},
		{Index: "invoice-search", ID: "inv-1", Version: 2, Doc: json.RawMessage(`{"customer":"Ann"}`)},
		{Index: "invoice-search", ID: "inv-2", Version: 1, Doc: json.RawMessage(`{"colour":"red"}`)},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%v %d %s", r.Outcome, r.Status, r.Type)))
	}
	doc, err := s.Get(ctx, "invoice-search", "inv-1")
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Index, doc.Version, string(doc.Source))
	// Output:
	// applied 201
	// stale 409 version_conflict_engine_exception
	// refused 400 strict_dynamic_mapping_exception
	// invoice-search-1 3 {"customer":"Ann Lee"}
}
