package viewstest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
)

var bulkTests = []test{
	{"a write applies only above the held version", func(t *testing.T, e *env) {
		ix := e.create(t, "v")
		res := e.bulk(t, put(ix, "a", 1, `{"seq":1}`))
		want(t, "first write", res[0], views.Applied, 201)
		res = e.bulk(t, put(ix, "a", 1, `{"seq":10}`), put(ix, "a", 3, `{"seq":3}`), put(ix, "a", 2, `{"seq":2}`))
		want(t, "same version", res[0], views.Stale, 409)
		want(t, "newer version", res[1], views.Applied, 200)
		want(t, "older version", res[2], views.Stale, 409)
		if d := e.get(t, ix, "a"); d.Version != 3 || string(d.Source) != `{"seq":3}` {
			t.Errorf("Get = version %d %s, want version 3 {\"seq\":3}", d.Version, d.Source)
		}
	}},
	{"a delete leaves a tombstone that keeps older writes out", func(t *testing.T, e *env) {
		ix := e.create(t, "tomb")
		e.bulk(t, put(ix, "a", 2, `{"seq":2}`))
		res := e.bulk(t, del(ix, "a", 5))
		want(t, "delete", res[0], views.Applied, 200)
		e.missing(t, ix, "a")
		res = e.bulk(t, put(ix, "a", 4, `{"seq":4}`), put(ix, "a", 5, `{"seq":5}`), del(ix, "a", 5))
		want(t, "older write after delete", res[0], views.Stale, 409)
		want(t, "equal write after delete", res[1], views.Stale, 409)
		want(t, "equal delete after delete", res[2], views.Stale, 409)
		e.missing(t, ix, "a")
		res = e.bulk(t, put(ix, "a", 6, `{"seq":6}`))
		want(t, "newer write after delete", res[0], views.Applied, 201)
		if d := e.get(t, ix, "a"); d.Version != 6 {
			t.Errorf("Get version = %d, want 6", d.Version)
		}
	}},
	{"a delete of a missing document is applied and leaves a tombstone", func(t *testing.T, e *env) {
		ix := e.create(t, "delmiss")
		res := e.bulk(t, del(ix, "ghost", 3))
		want(t, "delete of missing", res[0], views.Applied, 404)
		res = e.bulk(t, put(ix, "ghost", 2, `{"seq":2}`), put(ix, "ghost", 3, `{"seq":3}`))
		want(t, "older write", res[0], views.Stale, 409)
		want(t, "equal write", res[1], views.Stale, 409)
		e.missing(t, ix, "ghost")
	}},
	{"operations on one id apply in order within a bulk", func(t *testing.T, e *env) {
		ix := e.create(t, "order")
		res := e.bulk(t,
			put(ix, "a", 1, `{"seq":1}`),
			put(ix, "a", 2, `{"seq":2}`),
			del(ix, "a", 3),
			put(ix, "a", 2, `{"seq":22}`),
			put(ix, "a", 4, `{"seq":4}`),
			put(ix, "b", 1, `{"seq":1}`),
		)
		want(t, "create", res[0], views.Applied, 201)
		want(t, "update", res[1], views.Applied, 200)
		want(t, "delete", res[2], views.Applied, 200)
		want(t, "stale after delete", res[3], views.Stale, 409)
		want(t, "recreate", res[4], views.Applied, 201)
		want(t, "other id", res[5], views.Applied, 201)
		if d := e.get(t, ix, "a"); d.Version != 4 || string(d.Source) != `{"seq":4}` {
			t.Errorf("Get = version %d %s, want version 4 {\"seq\":4}", d.Version, d.Source)
		}
	}},
	{"refused documents do not stop the others", func(t *testing.T, e *env) {
		ix := e.create(t, "refuse")
		res := e.bulk(t,
			put(ix, "good1", 1, `{"customer":"Ann","seq":1}`),
			put(ix, "unknown", 1, `{"customer":"Bob","colour":"red"}`),
			put(ix, "nested-unknown", 1, `{"lines":[{"description":"pen","colour":"red"}]}`),
			put(ix, "not-a-long", 1, `{"seq":"abc"}`),
			put(ix, "object-for-scalar", 1, `{"currency":{"code":"EUR"}}`),
			put(ix, "scalar-for-object", 1, `{"lines":"pen"}`),
			put(ix, "not-a-bool", 1, `{"paid":"yes"}`),
			put(ix, "not-a-date", 1, `{"due_date":"next tuesday"}`),
			put(ix, "not-json", 1, `{"seq":`),
			put(ix, "good2", 1, `{"customer":"Cy","seq":"7","paid":"true","lines":[{"description":"pen","quantity":2}]}`),
		)
		want(t, "good1", res[0], views.Applied, 201)
		want(t, "good2", res[9], views.Applied, 201)
		wantTypes := map[int]string{
			1: "strict_dynamic_mapping_exception",
			2: "strict_dynamic_mapping_exception",
			3: "document_parsing_exception",
			4: "document_parsing_exception",
			5: "document_parsing_exception",
			6: "document_parsing_exception",
			7: "document_parsing_exception",
			8: "", // any parse error type
		}
		for i, typ := range wantTypes {
			r := res[i]
			want(t, fmt.Sprintf("result %d", i), r, views.Refused, 400)
			if typ != "" && r.Type != typ {
				t.Errorf("result %d: type %q, want %q", i, r.Type, typ)
			}
			if r.Reason == "" {
				t.Errorf("result %d: empty reason", i)
			}
		}
		if !strings.Contains(res[1].Reason, "colour") {
			t.Errorf("reason %q does not name the unknown field", res[1].Reason)
		}
		if !strings.Contains(res[3].Reason, "seq") {
			t.Errorf("reason %q does not name the field", res[3].Reason)
		}
		e.get(t, ix, "good1")
		e.get(t, ix, "good2")
		for _, id := range []string{"unknown", "not-a-long", "not-json"} {
			e.missing(t, ix, id)
		}
		// A refused write leaves nothing behind: a lower version applies.
		res = e.bulk(t, put(ix, "unknown", 1, `{"customer":"Bob"}`))
		want(t, "write after refusal", res[0], views.Applied, 201)
	}},
	{"writing to a missing index or alias is fatal for those operations only", func(t *testing.T, e *env) {
		ix := e.create(t, "fatal")
		res := e.bulk(t, put(e.name("nope"), "a", 1, `{}`), put(ix, "a", 1, `{}`), del(e.name("nope"), "b", 1))
		want(t, "missing index", res[0], views.Fatal, 404)
		if res[0].Type != "index_not_found_exception" {
			t.Errorf("type %q, want index_not_found_exception", res[0].Type)
		}
		want(t, "existing index", res[1], views.Applied, 201)
		want(t, "delete in missing index", res[2], views.Fatal, 404)
		if _, err := e.s.Indices(e.ctx, e.name("nope")); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.s.Indices(e.ctx, e.name("nope")); len(got) != 0 {
			t.Errorf("a write created index %v; views never auto-create", got)
		}
	}},
	{"the source is kept byte for byte", func(t *testing.T, e *env) {
		ix := e.create(t, "source")
		src := "{ \"seq\" : 1,\n  \"customer\":\"Zo\u00eb \\u00e9\",\"rate\":1.50, \"notes\":null }"
		e.bulk(t, put(ix, "a", 1, src))
		if d := e.get(t, ix, "a"); string(d.Source) != src {
			t.Errorf("Get source:\n%s", cmp.Diff(src, string(d.Source)))
		}
		res := e.search(t, ix, views.SearchRequest{})
		if len(res.Hits) != 1 || string(res.Hits[0].Source) != src {
			t.Errorf("Search hits %+v, want the source as written", res.Hits)
		}
	}},
}
