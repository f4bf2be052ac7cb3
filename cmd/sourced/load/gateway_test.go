package load

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// TestGatewayClient checks the HTTP contract the load generator relies on:
// what it sends, and how each answer of the gateway is counted.
func TestGatewayClient(t *testing.T) {
	var viewCalls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/invoice/{id}/{command}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Idempotency-Key") != "cmd-1" ||
			r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PathValue("id") {
		case "ok":
			if string(body) != "{}" {
				http.Error(w, "want {} for a command without data, got "+string(body), http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, `{"command_id":"cmd-1","aggregate_id":"ok","status":"accepted","version":3,"events":2}`)
		case "rejected":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"command_id":"cmd-1","aggregate_id":"rejected","status":"rejected","version":1,"events":0,"error":{"code":"not_draft","message":"no"}}`)
		case "slow":
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"command_id":"cmd-1","status":"pending"}`)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"code":"shutting_down","message":"bye"}`)
		}
	})
	mux.HandleFunc("GET /v1/views/invoice-search/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "inv-1":
			if viewCalls.Add(1) < 3 || r.URL.Query().Get("min_version") != "3" {
				w.WriteHeader(http.StatusGatewayTimeout)
				return
			}
			_, _ = io.WriteString(w, `{"id":"inv-1","version":3}`)
		case "load-probe-absent":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"not_found","message":"no document"}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	g, err := NewGateway(srv.URL, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	if err := g.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	send := func(id string) (codecs.Result, error) {
		return g.Send(ctx, &codecs.Command{ID: "cmd-1", Aggregate: "invoice", AggregateID: id, Type: "IssueInvoice"})
	}
	if res, err := send("ok"); err != nil || res.Status != codecs.StatusAccepted || res.Version != 3 || res.Events != 2 {
		t.Errorf("200: %+v %v", res, err)
	}
	if res, err := send("rejected"); err != nil || res.Status != codecs.StatusRejected || res.Error == nil || res.Error.Code != "not_draft" {
		t.Errorf("422: %+v %v", res, err)
	}
	for id, want := range map[string]string{"slow": "timeout", "down": "http_503"} {
		_, err := send(id)
		var nr *NoResultError
		if !errors.As(err, &nr) || nr.Reason != want {
			t.Errorf("%s: %v, want no result %q", id, err, want)
		}
	}
	if err := g.CheckView(ctx, "invoice-search"); err != nil {
		t.Errorf("CheckView: %v", err)
	}
	if err := g.CheckView(ctx, "nope"); err == nil {
		t.Errorf("CheckView of a view the gateway does not serve: no error")
	}
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.WaitVisible(vctx, "invoice-search", "inv-1", 3); err != nil || viewCalls.Load() != 3 {
		t.Errorf("WaitVisible: %v after %d reads, want nil after 2 answers 504 and a 200", err, viewCalls.Load())
	}
	if err := g.WaitVisible(vctx, "invoice-search", "broken", 1); err == nil {
		t.Errorf("WaitVisible on a 502: no error")
	}
}
