package gateway

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/reference"
)

func route(t *testing.T, v *views.View) *viewRoute {
	t.Helper()
	tb, err := tiebreaker(v)
	if err != nil {
		t.Fatal(err)
	}
	return &viewRoute{view: v, tiebreak: tb}
}

func TestTiebreakers(t *testing.T) {
	for _, v := range reference.All() {
		tb, err := tiebreaker(v)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		want := []string{"id"}
		if v.Source == views.FromEvents {
			want = []string{"aggregate_id", "version"}
		}
		if !cmp.Equal(tb, want) {
			t.Errorf("%s: tiebreaker %v, want %v", v.Name, tb, want)
		}
	}
	if _, err := tiebreaker(&views.View{Name: "bare", Mapping: views.Mapping{Properties: map[string]views.Field{"name": {Type: views.Text}}}}); err == nil {
		t.Error("a view without a unique keyword got a tiebreaker")
	}
}

func TestParseSearch(t *testing.T) {
	vr := route(t, reference.InvoiceSearch())
	parse := func(query string) (searchQuery, *apiError) {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		return vr.parseSearch(q)
	}
	t.Run("filters are typed by the mapping and the sort ends with the id", func(t *testing.T) {
		sq, e := parse("q=widgets&filter=status:issued&filter=total:3000&sort=due_date:desc,total&size=25")
		if e != nil {
			t.Fatal(e)
		}
		want := views.SearchRequest{
			Query:   "widgets",
			Filters: []views.Filter{{Field: "status", Value: "issued"}, {Field: "total", Value: int64(3000)}},
			Sort:    []views.SortField{{Field: "due_date", Desc: true}, {Field: "total"}, {Field: "id"}},
			Size:    25,
		}
		if diff := cmp.Diff(want, sq.req); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
	})
	t.Run("a query without a sort is by relevance, then id", func(t *testing.T) {
		sq, _ := parse("q=acme")
		if want := []views.SortField{{Field: "_score", Desc: true}, {Field: "id"}}; !cmp.Equal(sq.req.Sort, want) || sq.req.Size != DefaultSearchSize {
			t.Errorf("sort %v size %d", sq.req.Sort, sq.req.Size)
		}
	})
	t.Run("an explicit id sort keeps its direction", func(t *testing.T) {
		sq, _ := parse("sort=id:desc")
		if want := []views.SortField{{Field: "id", Desc: true}}; !cmp.Equal(sq.req.Sort, want) {
			t.Errorf("sort %v", sq.req.Sort)
		}
	})
	for _, bad := range []string{
		"size=0", "size=101", "size=x", "filter=status", "filter=colour:red", "filter=total:lots",
		"filter=customer:acme", "sort=customer", "sort=colour", "sort=total:up",
	} {
		t.Run(bad+" is 400", func(t *testing.T) {
			if _, e := parse(bad); e == nil || e.Status != 400 || e.Code != "invalid_parameter" {
				t.Errorf("got %v", e)
			}
		})
	}
	t.Run("a cursor round-trips and is refused by another query", func(t *testing.T) {
		sq, _ := parse("filter=status:issued&sort=total")
		c := sq.encodeCursor([]any{float64(3000), "inv-7"})
		after, e := sq.decodeCursor(c)
		if e != nil || !cmp.Equal(after, []any{float64(3000), "inv-7"}) {
			t.Fatalf("decode: %v, %v", after, e)
		}
		other, _ := parse("filter=status:paid&sort=total")
		if _, e := other.decodeCursor(c); e == nil || e.Code != "invalid_cursor" {
			t.Errorf("another query accepted the cursor: %v", e)
		}
		for _, junk := range []string{"!!", "e30", strings.Repeat("A", 40)} {
			if _, e := sq.decodeCursor(junk); e == nil || e.Status != 400 {
				t.Errorf("cursor %q accepted", junk)
			}
		}
	})
}
