package estest_test

import (
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

func TestAliasSwapIsAtomic(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	createIndex(t, e.es, "orders-v1", `{"aliases":{"orders":{"is_write_index":true}}}`)
	createIndex(t, e.es, "orders-v2", `{}`)

	write := func(id string) string {
		t.Helper()
		st, m := do(t, esapi.BulkRequest{Refresh: "true", Body: body(`{"index":{"_index":"orders","_id":"` + id + `"}}` + "\n{}\n")}, e.es)
		if st != 200 || path(m, "errors") != false {
			t.Fatalf("bulk through alias: %d %v", st, m)
		}
		return path(m, "items.0.index._index").(string)
	}
	if ix := write("1"); ix != "orders-v1" {
		t.Fatalf("write went to %s, want orders-v1", ix)
	}

	t.Run("a failing action leaves every alias unchanged", func(t *testing.T) {
		st, _ := do(t, esapi.IndicesUpdateAliasesRequest{Body: body(`{"actions":[
			{"remove":{"index":"orders-v1","alias":"orders"}},
			{"add":{"index":"orders-v2","alias":"orders","is_write_index":true}},
			{"remove_index":{"index":"no-such-index"}}]}`)}, e.es)
		if st != 404 {
			t.Fatalf("status %d, want 404", st)
		}
		_, m := do(t, esapi.IndicesGetAliasRequest{Name: []string{"orders"}}, e.es)
		if path(m, "orders-v1.aliases.orders.is_write_index") != true || path(m, "orders-v2") != nil {
			t.Fatalf("aliases changed: %v", m)
		}
	})

	t.Run("a swap moves reads and writes together", func(t *testing.T) {
		st, m := do(t, esapi.IndicesUpdateAliasesRequest{Body: body(`{"actions":[
			{"remove":{"index":"orders-v1","alias":"orders"}},
			{"add":{"index":"orders-v2","alias":"orders","is_write_index":true}}]}`)}, e.es)
		if st != 200 || path(m, "acknowledged") != true || path(m, "errors") != false {
			t.Fatalf("swap: %d %v", st, m)
		}
		if ix := write("2"); ix != "orders-v2" {
			t.Fatalf("write went to %s, want orders-v2", ix)
		}
		_, m = do(t, esapi.CountRequest{Index: []string{"orders"}}, e.es)
		if path(m, "count") != "1" {
			t.Fatalf("count through alias: %v, want only orders-v2's doc", m)
		}
	})

	t.Run("two write indices for one alias are refused", func(t *testing.T) {
		st, m := do(t, esapi.IndicesUpdateAliasesRequest{Body: body(`{"actions":[
			{"add":{"index":"orders-v1","alias":"orders","is_write_index":true}}]}`)}, e.es)
		if st != 400 {
			t.Fatalf("status %d %v, want 400", st, m)
		}
	})

	t.Run("require_alias refuses a concrete index", func(t *testing.T) {
		_, m := do(t, esapi.BulkRequest{RequireAlias: ptr(true), Body: body(`{"index":{"_index":"orders-v2","_id":"3"}}` + "\n{}\n")}, e.es)
		if path(m, "items.0.index.status") != "404" || path(m, "items.0.index.error.type") != "index_not_found_exception" {
			t.Fatalf("require_alias: %v", m)
		}
	})

	t.Run("deleting an alias as an index is refused", func(t *testing.T) {
		st, m := do(t, esapi.IndicesDeleteRequest{Index: []string{"orders"}}, e.es)
		if st != 400 || path(m, "error.type") != "illegal_argument_exception" {
			t.Fatalf("delete alias as index: %d %v", st, m)
		}
	})
}

func TestMappingChecks(t *testing.T) {
	e := newEnv(t, elasticsearch.Config{})
	cases := []struct {
		name, mapping, doc string
		status             string
		typ, cause         string
	}{
		{"a string in a long field", `{"properties":{"price":{"type":"long"}}}`, `{"price":"cheap"}`, "400", "document_parsing_exception", "illegal_argument_exception"},
		{"a numeric string in a long field is coerced", `{"properties":{"price":{"type":"long"}}}`, `{"price":"12"}`, "201", "", ""},
		{"an out-of-range integer", `{"properties":{"n":{"type":"integer"}}}`, `{"n":3000000000}`, "400", "document_parsing_exception", "illegal_argument_exception"},
		{"a bad boolean", `{"properties":{"b":{"type":"boolean"}}}`, `{"b":"yes"}`, "400", "document_parsing_exception", "illegal_argument_exception"},
		{"a bad date", `{"properties":{"d":{"type":"date"}}}`, `{"d":"yesterday"}`, "400", "document_parsing_exception", "illegal_argument_exception"},
		{"a scalar for an object", `{"properties":{"o":{"properties":{"x":{"type":"long"}}}}}`, `{"o":5}`, "400", "document_parsing_exception", ""},
		{"an unknown field under strict", `{"dynamic":"strict","properties":{"a":{"type":"keyword"}}}`, `{"b":1}`, "400", "strict_dynamic_mapping_exception", ""},
		{"an unknown field under dynamic false is kept in _source only", `{"dynamic":false}`, `{"b":1}`, "201", "", ""},
		{"a dynamic field then a contradicting value", `{}`, `{"n":[1,"x"]}`, "400", "document_parsing_exception", "illegal_argument_exception"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ix := "m" + string(rune('a'+i))
			createIndex(t, e.es, ix, `{"mappings":`+c.mapping+`}`)
			_, m := do(t, esapi.BulkRequest{Body: body(`{"index":{"_index":"` + ix + `","_id":"1"}}` + "\n" + c.doc + "\n")}, e.es)
			got := []any{path(m, "items.0.index.status"), path(m, "items.0.index.error.type"), path(m, "items.0.index.error.caused_by.type")}
			want := []any{c.status, nilIfEmpty(c.typ), nilIfEmpty(c.cause)}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("item %v, want status/type/cause %v", m["items"], want)
				}
			}
		})
	}
	t.Run("dynamic mapping follows ES defaults", func(t *testing.T) {
		do(t, esapi.IndexRequest{Index: "dyn", DocumentID: "1", Body: body(`{"s":"x","n":1,"f":1.5,"b":true,"d":"2025-01-02","o":{"k":"v"}}`)}, e.es)
		_, m := do(t, esapi.IndicesGetMappingRequest{Index: []string{"dyn"}}, e.es)
		p := "dyn.mappings.properties."
		for field, typ := range map[string]string{"s": "text", "n": "long", "f": "float", "b": "boolean", "d": "date", "o.properties.k": "text"} {
			if got := path(m, p+field+".type"); got != typ {
				t.Errorf("%s: type %v, want %s", field, got, typ)
			}
		}
		if got := path(m, p+"s.fields.keyword.type"); got != "keyword" {
			t.Errorf("s.keyword: %v", got)
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
