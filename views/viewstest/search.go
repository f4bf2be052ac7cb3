package viewstest

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
)

// searchDoc is one document of the search data set.
type searchDoc struct {
	id       string
	customer string
	currency string
	seq      int
	total    int
	paid     bool
	due      string
	notes    string
}

const searchDocs = 25

// searchData is the data set of the search tests: ties on total, currency
// and due_date, seq unique.
func searchData() []searchDoc {
	customers := []string{"Ann Lee", "Bob Stone", "Cy Lee"}
	out := make([]searchDoc, searchDocs)
	for i := range out {
		d := searchDoc{
			id:       fmt.Sprintf("inv-%02d", i),
			customer: customers[i%3],
			currency: "EUR",
			seq:      i,
			total:    (i * 7 % 10) * 100,
			paid:     i%3 == 0,
			due:      fmt.Sprintf("2026-11-%02d", 1+i%5),
		}
		if i%2 == 1 {
			d.currency = "USD"
		}
		if i%4 == 0 {
			d.due += "T10:15:00Z" // a timestamp within the day
		}
		if i%5 == 0 {
			d.notes = "URGENT: call back"
		}
		out[i] = d
	}
	return out
}

func (d searchDoc) json() string {
	return fmt.Sprintf(`{"customer":%q,"currency":%q,"seq":%d,"total":%d,"rate":%d.5,"paid":%t,"due_date":%q,"notes":%q}`,
		d.customer, d.currency, d.seq, d.total, d.seq, d.paid, d.due, d.notes)
}

// loadSearchData creates an index with the data set.
func (e *env) loadSearchData(t *testing.T) (string, []searchDoc) {
	t.Helper()
	ix := e.create(t, "search")
	data := searchData()
	ops := make([]views.Op, len(data))
	for i, d := range data {
		ops[i] = put(ix, d.id, uint64(10+i), d.json())
	}
	for i, r := range e.bulk(t, ops...) {
		want(t, data[i].id, r, views.Applied, 201)
	}
	return ix, data
}

// pick returns the ids of the documents keep accepts, in data order.
func pick(data []searchDoc, keep func(searchDoc) bool) []string {
	var out []string
	for _, d := range data {
		if keep(d) {
			out = append(out, d.id)
		}
	}
	return out
}

// pageAll reads every hit page by page, passing each page's last sort values
// through JSON into the next request's After.
func (e *env) pageAll(t *testing.T, index string, req views.SearchRequest, wantTotal int) []string {
	t.Helper()
	var got []string
	for page := 0; ; page++ {
		if page > searchDocs {
			t.Fatalf("paging does not end: %d pages", page)
		}
		res := e.search(t, index, req)
		if res.Total != wantTotal {
			t.Errorf("page %d: total %d, want %d", page, res.Total, wantTotal)
		}
		got = append(got, ids(res.Hits)...)
		if len(res.Hits) < req.Size {
			return got
		}
		req.After = jsonRoundTrip(t, res.Hits[len(res.Hits)-1].Sort)
	}
}

var searchTests = []test{
	{"Get is realtime", func(t *testing.T, e *env) {
		ix := e.create(t, "rt")
		e.bulk(t, put(ix, "a", 7, `{"seq":1}`))
		d := e.get(t, ix, "a")
		if d.Index != ix || d.ID != "a" || d.Version != 7 || string(d.Source) != `{"seq":1}` {
			t.Errorf("Get = %+v", d)
		}
		e.bulk(t, put(ix, "a", 8, `{"seq":2}`))
		if d := e.get(t, ix, "a"); d.Version != 8 {
			t.Errorf("Get after update: version %d, want 8", d.Version)
		}
		e.bulk(t, del(ix, "a", 9))
		e.missing(t, ix, "a")
	}},
	{"hits carry index, id, version and source", func(t *testing.T, e *env) {
		ix, data := e.loadSearchData(t)
		res := e.search(t, ix, views.SearchRequest{Filters: []views.Filter{{Field: "seq", Value: 3}}})
		if res.Total != 1 || len(res.Hits) != 1 {
			t.Fatalf("total %d, %d hits; want 1", res.Total, len(res.Hits))
		}
		h := res.Hits[0]
		if h.Index != ix || h.ID != "inv-03" || h.Version != 13 || string(h.Source) != data[3].json() {
			t.Errorf("hit = %+v", h)
		}
	}},
	{"the full-text query matches any term of any text field", func(t *testing.T, e *env) {
		ix, data := e.loadSearchData(t)
		cases := []struct {
			query string
			keep  func(searchDoc) bool
		}{
			{"lee", func(d searchDoc) bool { return d.customer != "Bob Stone" }},
			{"STONE urgent", func(d searchDoc) bool { return d.customer == "Bob Stone" || d.notes != "" }},
			{"nobody", func(searchDoc) bool { return false }},
			{"", func(searchDoc) bool { return true }},
		}
		for _, c := range cases {
			res := e.search(t, ix, views.SearchRequest{Query: c.query, Size: 100})
			wantIDs := pick(data, c.keep)
			got := ids(res.Hits)
			sort.Strings(got)
			if diff := cmp.Diff(wantIDs, got, cmpEmpty); diff != "" || res.Total != len(wantIDs) {
				t.Errorf("query %q: total %d, want %d; ids (-want +got):\n%s", c.query, res.Total, len(wantIDs), diff)
			}
		}
	}},
	{"filters match exact values of each type", func(t *testing.T, e *env) {
		ix, data := e.loadSearchData(t)
		cases := []struct {
			name    string
			filters []views.Filter
			keep    func(searchDoc) bool
		}{
			{"keyword", []views.Filter{{Field: "currency", Value: "USD"}}, func(d searchDoc) bool { return d.currency == "USD" }},
			{"keyword is case sensitive", []views.Filter{{Field: "currency", Value: "usd"}}, func(searchDoc) bool { return false }},
			{"keyword sub-field", []views.Filter{{Field: "customer.keyword", Value: "Ann Lee"}}, func(d searchDoc) bool { return d.customer == "Ann Lee" }},
			{"long from int", []views.Filter{{Field: "seq", Value: 7}}, func(d searchDoc) bool { return d.seq == 7 }},
			{"long from JSON float64", []views.Filter{{Field: "total", Value: float64(700)}}, func(d searchDoc) bool { return d.total == 700 }},
			{"boolean", []views.Filter{{Field: "paid", Value: true}}, func(d searchDoc) bool { return d.paid }},
			{"date matches the whole day", []views.Filter{{Field: "due_date", Value: "2026-11-01"}}, func(d searchDoc) bool { return d.due[:10] == "2026-11-01" }},
			{"date-time matches the instant", []views.Filter{{Field: "due_date", Value: "2026-11-01T10:15:00Z"}}, func(d searchDoc) bool { return d.due == "2026-11-01T10:15:00Z" }},
			{"all filters must match", []views.Filter{{Field: "currency", Value: "EUR"}, {Field: "paid", Value: false}}, func(d searchDoc) bool { return d.currency == "EUR" && !d.paid }},
			{"unmapped field matches nothing", []views.Filter{{Field: "colour", Value: "red"}}, func(searchDoc) bool { return false }},
		}
		for _, c := range cases {
			res := e.search(t, ix, views.SearchRequest{Filters: c.filters, Size: 100})
			wantIDs := pick(data, c.keep)
			got := ids(res.Hits)
			sort.Strings(got)
			if diff := cmp.Diff(wantIDs, got, cmpEmpty); diff != "" || res.Total != len(wantIDs) {
				t.Errorf("%s: total %d, want %d; ids (-want +got):\n%s", c.name, res.Total, len(wantIDs), diff)
			}
		}
		res := e.search(t, ix, views.SearchRequest{Query: "lee", Filters: []views.Filter{{Field: "currency", Value: "EUR"}}, Size: 100})
		if n := len(pick(data, func(d searchDoc) bool { return d.customer != "Bob Stone" && d.currency == "EUR" })); res.Total != n {
			t.Errorf("query with filter: total %d, want %d", res.Total, n)
		}
	}},
	{"sort orders hits and search after pages through them", func(t *testing.T, e *env) {
		ix, data := e.loadSearchData(t)
		byTotalDescSeq := append([]searchDoc(nil), data...)
		sort.SliceStable(byTotalDescSeq, func(i, j int) bool {
			a, b := byTotalDescSeq[i], byTotalDescSeq[j]
			if a.total != b.total {
				return a.total > b.total
			}
			return a.seq < b.seq
		})
		byDueCurrencySeq := append([]searchDoc(nil), data...)
		sort.SliceStable(byDueCurrencySeq, func(i, j int) bool {
			a, b := byDueCurrencySeq[i], byDueCurrencySeq[j]
			if a.due != b.due {
				return dueInstant(a.due) < dueInstant(b.due)
			}
			if a.currency != b.currency {
				return a.currency > b.currency
			}
			return a.seq > b.seq
		})
		cases := []struct {
			name   string
			sort   []views.SortField
			sorted []searchDoc
		}{
			{"long desc, long asc", []views.SortField{{Field: "total", Desc: true}, {Field: "seq"}}, byTotalDescSeq},
			{"date, keyword desc, long desc", []views.SortField{{Field: "due_date"}, {Field: "currency", Desc: true}, {Field: "seq", Desc: true}}, byDueCurrencySeq},
		}
		for _, c := range cases {
			wantIDs := pick(c.sorted, func(searchDoc) bool { return true })
			res := e.search(t, ix, views.SearchRequest{Sort: c.sort, Size: 100})
			if diff := cmp.Diff(wantIDs, ids(res.Hits)); diff != "" {
				t.Errorf("%s: one page (-want +got):\n%s", c.name, diff)
			}
			got := e.pageAll(t, ix, views.SearchRequest{Sort: c.sort, Size: 9}, searchDocs) // 9 + 9 + 7
			if diff := cmp.Diff(wantIDs, got); diff != "" {
				t.Errorf("%s: three pages (-want +got):\n%s", c.name, diff)
			}
		}
	}},
	{"the default sort is relevance then id and pages too", func(t *testing.T, e *env) {
		ix, data := e.loadSearchData(t)
		all := pick(data, func(searchDoc) bool { return true })
		got := e.pageAll(t, ix, views.SearchRequest{Size: 10}, searchDocs)
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("match all, by id (-want +got):\n%s", diff)
		}
		res := e.search(t, ix, views.SearchRequest{Query: "lee urgent", Size: 100})
		if len(res.Hits) < 2 {
			t.Fatalf("%d hits", len(res.Hits))
		}
		// A document matching both terms ranks above one matching one.
		if first := res.Hits[0].ID; first != "inv-00" && first != "inv-05" && first != "inv-15" && first != "inv-20" && first != "inv-10" {
			t.Errorf("first hit %s does not match both terms", first)
		}
		paged := e.pageAll(t, ix, views.SearchRequest{Query: "lee urgent", Size: 4}, res.Total)
		if diff := cmp.Diff(ids(res.Hits), paged); diff != "" {
			t.Errorf("relevance pages (-want +got):\n%s", diff)
		}
	}},
	{"size defaults to 10 and is at most 10000", func(t *testing.T, e *env) {
		ix, _ := e.loadSearchData(t)
		if res := e.search(t, ix, views.SearchRequest{}); len(res.Hits) != 10 || res.Total != searchDocs {
			t.Errorf("default size: %d hits, total %d", len(res.Hits), res.Total)
		}
		if _, err := e.s.Search(e.ctx, ix, views.SearchRequest{Size: 10_001}); err == nil {
			t.Error("size 10001 accepted")
		}
	}},
	{"deleted documents leave search", func(t *testing.T, e *env) {
		ix, _ := e.loadSearchData(t)
		e.bulk(t, del(ix, "inv-03", 100), del(ix, "inv-04", 100))
		res := e.search(t, ix, views.SearchRequest{Size: 100})
		if res.Total != searchDocs-2 {
			t.Errorf("total %d, want %d", res.Total, searchDocs-2)
		}
		for _, h := range res.Hits {
			if h.ID == "inv-03" || h.ID == "inv-04" {
				t.Errorf("deleted %s found", h.ID)
			}
		}
	}},
}

// dueInstant orders the data set's due dates: a bare date is midnight UTC.
func dueInstant(s string) string {
	if len(s) == 10 {
		return s + "T00:00:00Z"
	}
	return s
}
