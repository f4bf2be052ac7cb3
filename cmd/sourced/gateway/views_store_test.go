package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/reference"
)

// viewStores are the stores the view routes run against: the embedded
// bleve store and Elasticsearch (the estest server).
func viewStores(t *testing.T) map[string]views.Store {
	t.Helper()
	b, err := bleve.Open(bleve.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ts := httptest.NewServer(estest.New(estest.Options{}))
	t.Cleanup(ts.Close)
	e, err := elastic.New(elastic.Config{URLs: []string{ts.URL}, RetryBackoffMin: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return map[string]views.Store{"bleve": b, "elasticsearch": e}
}

// viewGateway serves the view routes of the reference views over store;
// they need no Kafka.
func viewGateway(t *testing.T, store views.Store, readWait time.Duration) *httptest.Server {
	t.Helper()
	gw, err := New(Config{
		Aggregates: []processors.Definition{invoice.New()}, Views: reference.All(), Store: store,
		Kafka: kafka.Connection{Brokers: []string{"127.0.0.1:9"}}, ReadWait: readWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %v", u, resp.StatusCode, err)
	}
	return resp.StatusCode
}

func TestViewRoutesOnEveryStore(t *testing.T) {
	ctx := context.Background()
	for name, store := range viewStores(t) {
		t.Run(name, func(t *testing.T) {
			v := reference.InvoiceSearch()
			if _, err := views.Ensure(ctx, store, v); err != nil {
				t.Fatal(err)
			}
			type doc struct {
				id    string
				due   string
				total int
			}
			var docs []doc
			var ops []views.Op
			for i := range 17 {
				d := doc{id: fmt.Sprintf("inv-%02d", i), due: fmt.Sprintf("2026-12-%02d", 1+i%4), total: 100 * (i % 3)}
				docs = append(docs, d)
				body := fmt.Sprintf(`{"id":%q,"version":1,"customer":"acme","status":"draft","currency":"EUR","due_date":%q,"total":%d,"paid":0,"balance":0,"line_count":0,"line_descriptions":"","updated_at":"2026-11-30T12:00:00Z"}`, d.id, d.due, d.total)
				ops = append(ops, views.Op{Index: v.Name, ID: d.id, Version: 1, Doc: json.RawMessage(body)})
			}
			if _, err := store.Bulk(ctx, ops); err != nil {
				t.Fatal(err)
			}
			if err := store.Refresh(ctx, v.Name); err != nil {
				t.Fatal(err)
			}
			srv := viewGateway(t, store, time.Second)

			t.Run("pages follow the sort, ties broken by id, each hit once", func(t *testing.T) {
				for _, sortBy := range []string{"due_date:desc", "total,due_date:desc", ""} {
					want := slices.Clone(docs)
					sort.SliceStable(want, func(i, j int) bool {
						a, b := want[i], want[j]
						switch sortBy {
						case "due_date:desc":
							if a.due != b.due {
								return a.due > b.due
							}
						case "total,due_date:desc":
							if a.total != b.total {
								return a.total < b.total
							}
							if a.due != b.due {
								return a.due > b.due
							}
						}
						return a.id < b.id
					})
					var got []string
					after := ""
					for page := 0; page < 10; page++ {
						var body searchBody
						q := "/v1/views/invoice-search?filter=currency:EUR&size=5&sort=" + url.QueryEscape(sortBy) + after
						if code := getJSON(t, srv.URL+q, &body); code != 200 || body.Total != len(docs) {
							t.Fatalf("sort %q page %d: %d, total %d", sortBy, page, code, body.Total)
						}
						for _, h := range body.Hits {
							got = append(got, h.ID)
						}
						if body.Next == "" {
							break
						}
						after = "&after=" + body.Next
					}
					var wantIDs []string
					for _, d := range want {
						wantIDs = append(wantIDs, d.id)
					}
					if !slices.Equal(got, wantIDs) {
						t.Errorf("sort %q:\n got %v\nwant %v", sortBy, got, wantIDs)
					}
				}
			})

			t.Run("filters are typed by the mapping", func(t *testing.T) {
				var body searchBody
				if code := getJSON(t, srv.URL+"/v1/views/invoice-search?filter=total:200&filter=due_date:2026-12-03&size=100", &body); code != 200 {
					t.Fatalf("status %d", code)
				}
				var ids []string
				for _, h := range body.Hits {
					ids = append(ids, h.ID)
				}
				var want []string
				for _, d := range docs {
					if d.total == 200 && d.due == "2026-12-03" {
						want = append(want, d.id)
					}
				}
				if !slices.Equal(ids, want) || body.Total != len(want) {
					t.Errorf("ids %v, want %v", ids, want)
				}
			})

			t.Run("a read with min_version waits for the version", func(t *testing.T) {
				done := make(chan docBody, 1)
				go func() {
					var d docBody
					resp, err := http.Get(srv.URL + "/v1/views/invoice-search/inv-03?min_version=2")
					if err == nil {
						_ = json.NewDecoder(resp.Body).Decode(&d)
						resp.Body.Close()
					}
					done <- d
				}()
				time.Sleep(100 * time.Millisecond)
				if _, err := store.Bulk(ctx, []views.Op{{Index: v.Name, ID: "inv-03", Version: 2,
					Doc: json.RawMessage(`{"id":"inv-03","version":2,"customer":"acme","status":"issued","currency":"EUR"}`)}}); err != nil {
					t.Fatal(err)
				}
				if d := <-done; d.Version != 2 || d.Index != "invoice-search-v1" {
					t.Fatalf("read %+v, want version 2", d)
				}
				var e apiError
				if code := getJSON(t, srv.URL+"/v1/views/invoice-search/inv-03?min_version=3", &e); code != 504 || e.Code != "not_caught_up" {
					t.Fatalf("version 3 never written: %d %+v", code, e)
				}
				if code := getJSON(t, srv.URL+"/v1/views/invoice-search/inv-99", &e); code != 404 || e.Code != "not_found" {
					t.Fatalf("a missing document: %d %+v", code, e)
				}
			})
		})
	}
}
