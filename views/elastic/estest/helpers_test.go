package estest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a server, its fake clock and a real client pointed at it.
type env struct {
	srv   *estest.Server
	clock *fakeClock
	url   string
	es    *elasticsearch.Client
}

func newEnv(t *testing.T, cfg elasticsearch.Config) *env {
	t.Helper()
	clock := newFakeClock()
	srv := estest.New(estest.Options{Clock: clock.Now})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cfg.Addresses = []string{ts.URL}
	es, err := elasticsearch.NewClient(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return &env{srv: srv, clock: clock, url: ts.URL, es: es}
}

// do runs an esapi request and decodes the JSON response body.
func do(t *testing.T, req esapi.Request, es *elasticsearch.Client) (int, map[string]any) {
	t.Helper()
	res, err := req.Do(context.Background(), es)
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
	return res.StatusCode, m
}

// path reads a dotted path from a decoded body.
func path(m any, p string) any {
	for _, seg := range strings.Split(p, ".") {
		switch t := m.(type) {
		case map[string]any:
			m = t[seg]
		case []any:
			i := 0
			for _, c := range seg {
				i = i*10 + int(c-'0')
			}
			if i >= len(t) {
				return nil
			}
			m = t[i]
		default:
			return nil
		}
	}
	if n, ok := m.(json.Number); ok {
		return n.String()
	}
	return m
}

func body(s string) io.Reader { return strings.NewReader(s) }

func intp(n int) *int { return &n }

func createIndex(t *testing.T, es *elasticsearch.Client, name, spec string) {
	t.Helper()
	st, m := do(t, esapi.IndicesCreateRequest{Index: name, Body: body(spec)}, es)
	if st != 200 {
		t.Fatalf("create %s: %d %v", name, st, m)
	}
}
