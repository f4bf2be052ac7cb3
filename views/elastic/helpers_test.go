package elastic_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// server starts an estest server with opts behind real HTTP.
func server(t testing.TB, opts estest.Options) (*estest.Server, *httptest.Server) {
	t.Helper()
	srv := estest.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts
}

// fastRetries is a config for ts with retries that do not slow tests down.
func fastRetries(url string) elastic.Config {
	return elastic.Config{
		URLs:            []string{url},
		RetryBackoffMin: time.Millisecond,
		RetryBackoffMax: 5 * time.Millisecond,
	}
}

// open returns a store for cfg, closed at cleanup.
func open(t testing.TB, cfg elastic.Config) *elastic.Store {
	t.Helper()
	s, err := elastic.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newStore starts estest and returns a store on it.
func newStore(t *testing.T, opts estest.Options) (*elastic.Store, *estest.Server) {
	t.Helper()
	srv, ts := server(t, opts)
	return open(t, fastRetries(ts.URL)), srv
}

var testMapping = views.Mapping{Properties: map[string]views.Field{
	"name":  {Type: views.Text, WithKeyword: true},
	"code":  {Type: views.Keyword},
	"count": {Type: views.Long},
}, Replicas: -1}

func createIndex(t *testing.T, s *elastic.Store, name string) {
	t.Helper()
	if err := s.CreateIndex(context.Background(), name, testMapping); err != nil {
		t.Fatalf("CreateIndex(%q): %v", name, err)
	}
}

func put(index, id string, version uint64, doc string) views.Op {
	return views.Op{Index: index, ID: id, Version: version, Doc: json.RawMessage(doc)}
}

func del(index, id string, version uint64) views.Op {
	return views.Op{Index: index, ID: id, Version: version, Delete: true}
}

func bulk(t *testing.T, s *elastic.Store, ops ...views.Op) []views.ItemResult {
	t.Helper()
	res, err := s.Bulk(context.Background(), ops)
	if err != nil {
		t.Fatalf("Bulk: %v", err)
	}
	if len(res) != len(ops) {
		t.Fatalf("Bulk returned %d results for %d ops", len(res), len(ops))
	}
	return res
}

func wantOutcome(t *testing.T, what string, got views.ItemResult, outcome views.Outcome, status int) {
	t.Helper()
	if got.Outcome != outcome || got.Status != status {
		t.Errorf("%s: got %v %d (%s: %s), want %v %d", what, got.Outcome, got.Status, got.Type, got.Reason, outcome, status)
	}
}

// headerCheck wraps h, recording the Authorization header of each request.
type headerCheck struct {
	h    http.Handler
	auth chan string
}

func (c *headerCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case c.auth <- r.Header.Get("Authorization"):
	default:
	}
	c.h.ServeHTTP(w, r)
}
