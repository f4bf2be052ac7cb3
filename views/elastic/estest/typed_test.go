package estest_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/core/search"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/operationtype"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/refresh"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/sortorder"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/versiontype"

	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// TestTypedAPIDecodesResponses uses the typed API's structs as the ES 8.19
// response schema: every response must decode without error.
func TestTypedAPIDecodesResponses(t *testing.T) {
	ts := httptest.NewServer(estest.New(estest.Options{}))
	defer ts.Close()
	tc, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{ts.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	yes := true

	created, err := tc.Indices.Create("items-1").
		Mappings(&types.TypeMapping{Properties: map[string]types.Property{
			"name":  types.NewKeywordProperty(),
			"price": types.NewLongNumberProperty(),
		}}).
		Aliases(map[string]types.Alias{"items": {IsWriteIndex: &yes}}).
		Do(ctx)
	if err != nil || !created.Acknowledged || created.Index != "items-1" {
		t.Fatalf("indices.create: %+v %v", created, err)
	}

	b := tc.Bulk().Index("items").Refresh(refresh.True)
	for i, name := range []string{"apple", "pear", "fig"} {
		id, v := name, int64(10+i)
		if err := b.IndexOp(types.IndexOperation{Id_: &id, Version: &v, VersionType: &versiontype.External},
			map[string]any{"name": name, "price": 100 - i}); err != nil {
			t.Fatal(err)
		}
	}
	stale := "fig"
	if err := b.IndexOp(types.IndexOperation{Id_: &stale, Version: new(int64), VersionType: &versiontype.External}, map[string]any{"name": "old"}); err != nil {
		t.Fatal(err)
	}
	bulkRes, err := b.Do(ctx)
	if err != nil {
		t.Fatalf("bulk: %v", err)
	}
	if !bulkRes.Errors || len(bulkRes.Items) != 4 {
		t.Fatalf("bulk: errors=%v items=%d", bulkRes.Errors, len(bulkRes.Items))
	}
	if it := bulkRes.Items[0][operationtype.Index]; it.Status != 201 || it.Index_ != "items-1" || *it.Version_ != 10 {
		t.Fatalf("bulk item 0: %+v", it)
	}
	if it := bulkRes.Items[3][operationtype.Index]; it.Status != 409 || it.Error == nil || it.Error.Type != "version_conflict_engine_exception" {
		t.Fatalf("bulk item 3: %+v", it)
	}

	got, err := tc.Get("items", "pear").Do(ctx)
	if err != nil || !got.Found || *got.Version_ != 11 {
		t.Fatalf("get: %+v %v", got, err)
	}
	var src map[string]any
	if err := json.Unmarshal(got.Source_, &src); err != nil || src["name"] != "pear" {
		t.Fatalf("get source %s: %v", got.Source_, err)
	}
	missing, err := tc.Get("items", "nope").Do(ctx)
	if err != nil || missing.Found {
		t.Fatalf("get missing: %+v %v", missing, err)
	}

	asc := sortorder.Asc
	res, err := tc.Search().Index("items").Request(&search.Request{
		Query: &types.Query{Range: map[string]types.RangeQuery{"price": types.NumberRangeQuery{Gte: ptr(types.Float64(99))}}},
		Sort:  []types.SortCombinations{types.SortOptions{SortOptions: map[string]types.FieldSort{"price": {Order: &asc}}}},
	}).Do(ctx)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if res.Hits.Total.Value != 2 || len(res.Hits.Hits) != 2 || *res.Hits.Hits[0].Id_ != "pear" {
		t.Fatalf("search hits: %+v", res.Hits)
	}

	aliases, err := tc.Indices.GetAlias().Name("items").Do(ctx)
	if err != nil {
		t.Fatalf("get alias: %v", err)
	}
	if a := aliases["items-1"].Aliases["items"]; a.IsWriteIndex == nil || !*a.IsWriteIndex {
		t.Fatalf("get alias: %+v", aliases)
	}
	if _, err := tc.Indices.GetAlias().Name("nope").Do(ctx); err == nil {
		t.Fatal("get missing alias: want an error")
	}

	pit, err := tc.OpenPointInTime("items").KeepAlive("1m").Do(ctx)
	if err != nil || pit.Id == "" {
		t.Fatalf("open pit: %+v %v", pit, err)
	}
	pitRes, err := tc.Search().Request(&search.Request{Pit: &types.PointInTimeReference{Id: pit.Id}}).Do(ctx)
	if err != nil || pitRes.PitId == nil || *pitRes.PitId != pit.Id || pitRes.Hits.Total.Value != 3 {
		t.Fatalf("pit search: %+v %v", pitRes, err)
	}
	closed, err := tc.ClosePointInTime().Id(pit.Id).Do(ctx)
	if err != nil || !closed.Succeeded || closed.NumFreed != 1 {
		t.Fatalf("close pit: %+v %v", closed, err)
	}
}

func ptr[T any](v T) *T { return &v }
