package elastic_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

func TestBulkOutcomes(t *testing.T) {
	s, _ := newStore(t, estest.Options{})
	createIndex(t, s, "v")
	ctx := context.Background()

	t.Run("a batch mixes applied, stale and refused items", func(t *testing.T) {
		bulk(t, s, put("v", "a", 5, `{"name":"Ann","count":1}`))
		res := bulk(t, s,
			put("v", "a", 5, `{"name":"Ann again"}`),     // equal version
			put("v", "a", 3, `{"name":"older"}`),         // older version
			put("v", "b", 1, `{"count":"many"}`),         // contradicts the long
			put("v", "c", 1, `{"colour":"red"}`),         // strict mapping
			put("v", "d", 1, `{"name":"Dan","count":4}`), // fine
			put("v", "a", 6, `{"name":"Ann","count":2}`), // newer
			del("v", "missing", 2),                       // nothing to delete
		)
		wantOutcome(t, "equal version", res[0], views.Stale, 409)
		wantOutcome(t, "older version", res[1], views.Stale, 409)
		wantOutcome(t, "type mismatch", res[2], views.Refused, 400)
		wantOutcome(t, "unknown field", res[3], views.Refused, 400)
		wantOutcome(t, "good doc", res[4], views.Applied, 201)
		wantOutcome(t, "newer version", res[5], views.Applied, 200)
		wantOutcome(t, "delete of a missing doc", res[6], views.Applied, 404)
		for i, typ := range map[int]string{0: "version_conflict_engine_exception", 2: "document_parsing_exception", 3: "strict_dynamic_mapping_exception"} {
			if res[i].Type != typ || res[i].Reason == "" {
				t.Errorf("result %d: type %q reason %q, want type %s and a reason", i, res[i].Type, res[i].Reason, typ)
			}
		}
		d, err := s.Get(ctx, "v", "a")
		if err != nil || d.Version != 6 || string(d.Source) != `{"name":"Ann","count":2}` {
			t.Errorf("Get a = %+v, %v; want version 6", d, err)
		}
	})

	t.Run("a delete leaves a tombstone that refuses older versions", func(t *testing.T) {
		res := bulk(t, s, del("v", "t", 7), put("v", "t", 6, `{"name":"late"}`))
		wantOutcome(t, "delete", res[0], views.Applied, 404)
		wantOutcome(t, "older write after the delete", res[1], views.Stale, 409)
	})

	t.Run("writes to a missing index are fatal and create nothing", func(t *testing.T) {
		res := bulk(t, s, put("nope", "a", 1, `{}`), put("v", "e", 1, `{}`))
		wantOutcome(t, "missing index", res[0], views.Fatal, 404)
		wantOutcome(t, "existing index", res[1], views.Applied, 201)
		if got, _ := s.Indices(ctx, "nope"); len(got) != 0 {
			t.Errorf("indices %v were created", got)
		}
	})

	t.Run("a deleted index is fatal at the next write", func(t *testing.T) {
		createIndex(t, s, "gone")
		bulk(t, s, put("gone", "a", 1, `{}`))
		if err := s.DeleteIndex(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		res := bulk(t, s, put("gone", "a", 2, `{}`))
		wantOutcome(t, "write after delete", res[0], views.Fatal, 404)
	})

	t.Run("operations that cannot be sent are refused locally", func(t *testing.T) {
		long := make([]byte, 513)
		for i := range long {
			long[i] = 'x'
		}
		res := bulk(t, s, put("v", "", 1, `{}`), put("v", string(long), 1, `{}`),
			views.Op{Index: "v", ID: "x", Version: 1}, put("v", "ok", 1, `{}`), put("bad*name", "x", 1, `{}`))
		wantOutcome(t, "empty id", res[0], views.Refused, 400)
		wantOutcome(t, "long id", res[1], views.Refused, 400)
		wantOutcome(t, "no document", res[2], views.Refused, 400)
		wantOutcome(t, "fine", res[3], views.Applied, 201)
		wantOutcome(t, "bad index name", res[4], views.Fatal, 400)
	})

	t.Run("ids and names are escaped", func(t *testing.T) {
		ids := []string{`a"b`, `a\b`, "a/b", "a?b#c", "50%", "tab\there", "zoë", "a b"}
		ops := make([]views.Op, len(ids))
		for i, id := range ids {
			ops[i] = put("v", id, 1, `{"code":"x"}`)
		}
		for i, r := range bulk(t, s, ops...) {
			wantOutcome(t, fmt.Sprintf("id %q", ids[i]), r, views.Applied, 201)
		}
		for _, id := range ids {
			d, err := s.Get(ctx, "v", id)
			if err != nil || d.ID != id {
				t.Errorf("Get(%q) = %+v, %v", id, d, err)
			}
		}
	})

	t.Run("an empty batch sends nothing", func(t *testing.T) {
		res, err := s.Bulk(ctx, nil)
		if err != nil || len(res) != 0 {
			t.Errorf("Bulk(nil) = %v, %v", res, err)
		}
	})
}

func TestBulkThroughAlias(t *testing.T) {
	_, ts := server(t, estest.Options{})
	s := open(t, fastRetries(ts.URL))
	ctx := context.Background()
	createIndex(t, s, "v-1")
	createIndex(t, s, "v-2")
	if err := s.UpdateAliases(ctx, []views.AliasAction{{Kind: views.AddAlias, Index: "v-1", Alias: "v"}}); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, "write through the alias", bulk(t, s, put("v", "a", 1, `{"name":"x"}`))[0], views.Applied, 201)
	if d, err := s.Get(ctx, "v", "a"); err != nil || d.Index != "v-1" || d.Version != 1 {
		t.Errorf("Get through alias = %+v, %v", d, err)
	}
	// Two indices and no write index: the write fails fatally.
	if err := s.UpdateAliases(ctx, []views.AliasAction{{Kind: views.AddAlias, Index: "v-2", Alias: "v"}}); err != nil {
		t.Fatal(err)
	}
	r := bulk(t, s, put("v", "b", 1, `{}`))[0]
	wantOutcome(t, "no write index", r, views.Fatal, 400)
	// Swap: v-2 takes writes.
	if err := s.UpdateAliases(ctx, []views.AliasAction{
		{Kind: views.RemoveAlias, Index: "v-1", Alias: "v"},
		{Kind: views.AddAlias, Index: "v-2", Alias: "v", IsWriteIndex: true},
	}); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, "write after swap", bulk(t, s, put("v", "b", 1, `{}`))[0], views.Applied, 201)
	if d, err := s.Get(ctx, "v-2", "b"); err != nil {
		t.Errorf("Get(v-2, b) = %+v, %v", d, err)
	}
	// The alias goes away (another process): the cached alias carries
	// require_alias, so nothing is auto-created under its name.
	if err := removeAlias(ts.URL, "v-2", "v"); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, "write to a removed alias", bulk(t, s, put("v", "c", 1, `{}`))[0], views.Fatal, 404)
	if got, _ := s.Indices(ctx, "v"); len(got) != 2 {
		t.Errorf("indices %v, want only v-1 and v-2", got)
	}
}

// removeAlias removes an alias behind the store's back, as another
// process would.
func removeAlias(url, index, alias string) error {
	other, err := elastic.New(elastic.Config{URLs: []string{url}})
	if err != nil {
		return err
	}
	defer other.Close()
	return other.UpdateAliases(context.Background(), []views.AliasAction{{Kind: views.RemoveAlias, Index: index, Alias: alias}})
}

func TestBulkRequestErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("503 for a while, then success", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().RejectRequests("/_bulk", 503, 3)
		before := srv.Requests()
		start := time.Now()
		res, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		if err != nil {
			t.Fatalf("Bulk: %v", err)
		}
		wantOutcome(t, "after retries", res[0], views.Applied, 201)
		if n := srv.Requests() - before; n != 4 {
			t.Errorf("%d requests, want 4 (3 rejected, 1 applied)", n)
		}
		// Backoff 1ms, 2ms, 4ms, each at least half: 3.5ms at least.
		if d := time.Since(start); d < 3500*time.Microsecond {
			t.Errorf("retries took %v: no backoff", d)
		}
	})
	t.Run("whole-request 429 is retried", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().RejectRequests("/_bulk", 429, 2)
		srv.Faults().CircuitBreaker("/_bulk", 1)
		res, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		if err != nil {
			t.Fatalf("Bulk: %v", err)
		}
		wantOutcome(t, "after retries", res[0], views.Applied, 201)
	})
	t.Run("dropped connections are retried", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().DropConnections("/_bulk", 2)
		res, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		if err != nil {
			t.Fatalf("Bulk: %v", err)
		}
		wantOutcome(t, "after retries", res[0], views.Applied, 201)
	})
	t.Run("persistent 503 is retryable", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().RejectRequests("/_bulk", 503, 0)
		before := srv.Requests()
		_, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		if n := srv.Requests() - before; n != 1+elastic.DefaultMaxRetries {
			t.Errorf("%d requests, want %d", n, 1+elastic.DefaultMaxRetries)
		}
		var e *elastic.Error
		if !views.IsRetryable(err) || !errors.As(err, &e) || e.Status != 503 {
			t.Fatalf("Bulk error %v: want a retryable *Error with status 503", err)
		}
		if e.Type != "unavailable_shards_exception" {
			t.Errorf("type %q", e.Type)
		}
	})
	t.Run("a 400 is not retryable", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().Add(estest.Fault{Path: "/_bulk", Status: 400, Body: `{"error":{"type":"action_request_validation_exception","reason":"Validation Failed: 1: no requests added;"},"status":400}`})
		_, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		var e *elastic.Error
		if err == nil || views.IsRetryable(err) || !errors.As(err, &e) || e.Type != "action_request_validation_exception" {
			t.Fatalf("Bulk error %v: want a plain *Error", err)
		}
	})
	t.Run("an unreachable server is retryable", func(t *testing.T) {
		_, ts := server(t, estest.Options{})
		url := ts.URL
		ts.Close()
		s := open(t, fastRetries(url))
		_, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		if !views.IsRetryable(err) {
			t.Fatalf("Bulk error %v: want retryable", err)
		}
	})
	t.Run("item-level 429 fails those items only", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().RejectItems(1, func(_, _, id string) bool { return id == "b" })
		res := bulk(t, s, put("v", "a", 1, `{}`), put("v", "b", 1, `{}`), put("v", "c", 1, `{}`))
		wantOutcome(t, "a", res[0], views.Applied, 201)
		wantOutcome(t, "b", res[1], views.Failed, 429)
		wantOutcome(t, "c", res[2], views.Applied, 201)
		if res[1].Type != "es_rejected_execution_exception" {
			t.Errorf("type %q", res[1].Type)
		}
		// Retrying the failed item applies it.
		wantOutcome(t, "b again", bulk(t, s, put("v", "b", 1, `{}`))[0], views.Applied, 201)
	})
	t.Run("a cancelled context is not retryable", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		createIndex(t, s, "v")
		srv.Faults().RejectRequests("/_bulk", 503, 0)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.Bulk(cctx, []views.Op{put("v", "a", 1, `{}`)})
		if err == nil || views.IsRetryable(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Bulk error %v: want context.Canceled, not retryable", err)
		}
	})
}

func TestBulkMultiLineDocuments(t *testing.T) {
	s, srv := newStore(t, estest.Options{})
	createIndex(t, s, "v")
	before := srv.BulkRequests()
	res := bulk(t, s,
		put("v", "a", 2, "{\n \"name\": \"Ann\"\n}"),
		put("v", "b", 1, `{"name":"Bob"}`),
		put("v", "c", 1, "{\n \"colour\": \"red\"\n}"),
		put("v", "d", 1, "{\n not json"),
	)
	wantOutcome(t, "multi-line doc", res[0], views.Applied, 201)
	wantOutcome(t, "one-line doc", res[1], views.Applied, 201)
	wantOutcome(t, "multi-line doc against the mapping", res[2], views.Refused, 400)
	wantOutcome(t, "multi-line invalid JSON", res[3], views.Refused, 400)
	wantOutcome(t, "older multi-line doc", bulk(t, s, put("v", "a", 1, "{\n}"))[0], views.Stale, 409)
	if n := srv.BulkRequests() - before; n != 1 {
		t.Errorf("%d _bulk requests, want 1", n)
	}
	if d, err := s.Get(context.Background(), "v", "a"); err != nil || d.Version != 2 {
		t.Errorf("Get = %+v, %v", d, err)
	}
}

func TestRequestTimeoutRetries(t *testing.T) {
	srv, ts := server(t, estest.Options{})
	cfg := fastRetries(ts.URL)
	cfg.RequestTimeout = 50 * time.Millisecond
	s := open(t, cfg)
	createIndex(t, s, "v")
	srv.Faults().Add(estest.Fault{Path: "/_bulk", Delay: time.Second, Times: 1})
	start := time.Now()
	res := bulk(t, s, put("v", "a", 1, `{}`))
	wantOutcome(t, "after a timed-out attempt", res[0], views.Applied, 201)
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("took %v: the slow attempt was not cut short", d)
	}
}
