package telemetry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry/telemetrytest"
)

// start runs s on 127.0.0.1:0 until the test ends and returns its base
// URL, the cancel of Run's context, and a function waiting for Run's
// result (at most 10 s).
func start(t *testing.T, s *telemetry.Server) (string, context.CancelFunc, func() error) {
	t.Helper()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	wait := sync.OnceValue(func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Run did not return within 10s")
		}
	})
	t.Cleanup(func() {
		cancel()
		if err := wait(); err != nil {
			t.Error(err)
		}
	})
	return "http://" + s.Addr(), cancel, wait
}

func TestServerHealthAndReadiness(t *testing.T) {
	s := telemetry.NewServer("127.0.0.1:0", prometheus.NewRegistry(), nil)
	s.CheckTimeout = 200 * time.Millisecond
	url, _, _ := start(t, s)

	t.Run("healthz answers 200", func(t *testing.T) {
		if code, body := telemetrytest.Get(t, url+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
			t.Fatalf("/healthz = %d %q", code, body)
		}
	})
	t.Run("ready without checks", func(t *testing.T) {
		if code, r := telemetrytest.Readiness(t, url); code != 200 || !r.Ready {
			t.Fatalf("/readyz = %d %+v", code, r)
		}
	})
	var failing error = errors.New("tables recovering")
	s.AddReadiness("tables", func(context.Context) error { return failing })
	s.AddReadiness("store", func(context.Context) error { return nil })
	t.Run("a failing check makes it 503 and is named", func(t *testing.T) {
		code, r := telemetrytest.Readiness(t, url)
		if code != 503 || r.Ready {
			t.Fatalf("/readyz = %d %+v, want 503 not ready", code, r)
		}
		if r.Checks["tables"] != "tables recovering" || r.Checks["store"] != "ok" {
			t.Fatalf("checks = %v", r.Checks)
		}
	})
	t.Run("a check that hangs fails after the timeout", func(t *testing.T) {
		// The check ignores its deadline and blocks for 5 s.
		s.AddReadiness("tables", func(ctx context.Context) error { <-ctx.Done(); time.Sleep(5 * time.Second); return nil })
		begin := time.Now()
		code, r := telemetrytest.Readiness(t, url)
		if code != 503 || !strings.Contains(r.Checks["tables"], "no answer within") {
			t.Fatalf("/readyz = %d %+v", code, r)
		}
		if d := time.Since(begin); d > 3*time.Second {
			t.Fatalf("/readyz took %s with a 200ms check timeout", d)
		}
	})
	t.Run("replacing the check with a passing one makes it ready", func(t *testing.T) {
		s.AddReadiness("tables", func(context.Context) error { return nil })
		if code, r := telemetrytest.Readiness(t, url); code != 200 || !r.Ready || len(r.Checks) != 2 {
			t.Fatalf("/readyz = %d %+v", code, r)
		}
	})
}

func TestServerHTTPMetricsUseRoutePatterns(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := telemetry.NewServer("127.0.0.1:0", reg, nil)
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/{aggregate}/{id}/{command}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	s.Handle("/v1/", api)
	url, _, _ := start(t, s)

	for _, path := range []string{"/v1/invoice/a/create", "/v1/invoice/b/issue", "/v1/profile/c/rename"} {
		resp, err := http.Post(url+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST %s = %d", path, resp.StatusCode)
		}
	}
	for i := range 20 {
		telemetrytest.Get(t, url+"/random/"+strings.Repeat("x", i))
	}
	telemetrytest.Get(t, url+"/healthz")

	fams, err := telemetrytest.Scrape(context.Background(), url+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fams.Value("sourced_http_requests_total", "route", "POST /v1/{aggregate}/{id}/{command}", "method", "POST", "status", "202"); v != 3 {
		t.Errorf("requests of the gateway route = %v, want 3", v)
	}
	if v, _ := fams.Value("sourced_http_requests_total", "route", "unmatched", "method", "GET", "status", "404"); v != 20 {
		t.Errorf("unmatched requests = %v, want 20", v)
	}
	if v, _ := fams.Value("sourced_http_requests_total", "route", "GET /healthz", "status", "200"); v != 1 {
		t.Errorf("healthz requests = %v, want 1", v)
	}
	if v, _ := fams.Value("sourced_http_request_duration_seconds", "route", "POST /v1/{aggregate}/{id}/{command}", "method", "POST"); v != 3 {
		t.Errorf("duration samples of the gateway route = %v, want 3", v)
	}
	for _, ls := range fams.Series("sourced_http_requests_total") {
		if strings.Contains(ls["route"], "random") || strings.Contains(ls["route"], "invoice") {
			t.Errorf("a raw path became a route label: %v", ls)
		}
	}
}

func TestServerDrainsInFlightRequests(t *testing.T) {
	s := telemetry.NewServer("127.0.0.1:0", prometheus.NewRegistry(), nil)
	s.DrainTimeout = 5 * time.Second
	entered := make(chan struct{})
	s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	url, cancel, wait := start(t, s)

	type result struct {
		code int
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-entered
	cancel()
	r := <-got
	if r.err != nil || r.code != 200 || r.body != "done" {
		t.Fatalf("in-flight request during shutdown = %d %q %v, want 200 done", r.code, r.body, r.err)
	}
	if err := wait(); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after Run returned")
	}
}

func TestServerListenError(t *testing.T) {
	a := telemetry.NewServer("127.0.0.1:0", nil, nil)
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	url, _, _ := start(t, a)
	_ = url
	b := telemetry.NewServer(a.Addr(), nil, nil)
	err := b.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), a.Addr()) {
		t.Fatalf("Run on a taken address = %v, want an error naming it", err)
	}
}

func TestGokaMonitorWithoutProcessors(t *testing.T) {
	s := telemetry.NewServer("127.0.0.1:0", nil, nil)
	s.HandleGoka(&telemetry.GokaMonitor{})
	url, _, _ := start(t, s)
	if code, body := telemetrytest.Get(t, url+"/goka/"); code != 200 || !strings.Contains(body, "/goka/monitor") {
		t.Fatalf("/goka/ = %d %q", code, body)
	}
	if code, _ := telemetrytest.Get(t, url+"/goka/monitor/"); code != 200 {
		t.Fatalf("/goka/monitor/ = %d", code)
	}
	for _, p := range []string{"/goka/monitor/processor/0", "/goka/monitor/data/view/0", "/goka/monitor/view/-1", "/goka/monitor/processor/x"} {
		if code, _ := telemetrytest.Get(t, url+p); code != 404 {
			t.Errorf("%s = %d, want 404", p, code)
		}
	}
}
