package bleve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
)

func Example() {
	ctx := context.Background()
	s, err := bleve.Open(bleve.Config{}) // Dir "" keeps everything in memory
	if err != nil {
		panic(err)
	}
	defer s.Close()

	m := views.Mapping{Properties: map[string]views.Field{
		"customer": {Type: views.Text, WithKeyword: true},
		"total":    {Type: views.Long},
	}}
	if err := s.CreateIndex(ctx, "invoice-search-1", m); err != nil {
		panic(err)
	}
	if err := s.UpdateAliases(ctx, []views.AliasAction{
		{Kind: views.AddAlias, Index: "invoice-search-1", Alias: "invoice-search"},
	}); err != nil {
		panic(err)
	}
	res, err := s.Bulk(ctx, []views.Op{
		{Index: "invoice-search", ID: "inv-1", Version: 2, Doc: json.RawMessage(`{"customer":"Ann Lee","total":1200}`)},
		{Index: "invoice-search", ID: "inv-1", Version: 1, Doc: json.RawMessage(`{"customer":"Ann","total":0}`)},
		{Index: "invoice-search", ID: "inv-2", Version: 1, Doc: json.RawMessage(`{"customer":"Bob","colour":"red"}`)},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Println(strings.TrimSpace(fmt.Sprint(r.Outcome, " ", r.Status, " ", r.Type)))
	}
	hits, err := s.Search(ctx, "invoice-search", views.SearchRequest{Query: "lee"})
	if err != nil {
		panic(err)
	}
	fmt.Println(hits.Total, hits.Hits[0].ID, hits.Hits[0].Version, string(hits.Hits[0].Source))
	// Output:
	// applied 201
	// stale 409 version_conflict_engine_exception
	// refused 400 strict_dynamic_mapping_exception
	// 1 inv-1 2 {"customer":"Ann Lee","total":1200}
}
