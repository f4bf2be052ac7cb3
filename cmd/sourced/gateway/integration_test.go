package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
	"github.com/b2dc4357/sourced/processors/profile"
)

// startGateway runs the profile processor and a gateway (remembering
// recent results) against an embedded broker, and serves the gateway.
func startGateway(t testing.TB, recent int) (*Gateway, *httptest.Server, prometheus.Gauge) {
	t.Helper()
	brokers := brokertest.Start(t).ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	def := profile.New()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	if err := kafka.EnsureTopics(ctx, cl, codecs.NewTopics("", def.Name()), kafka.TopicSpec{Partitions: 3, NoCompaction: true}); err != nil {
		t.Fatal(err)
	}
	pcfg := processors.Config{Kafka: kafka.Connection{Brokers: brokers}, Sarama: processors.KafkaConfig()}
	pcfg.Store.Dir = t.TempDir()
	proc, err := processors.NewProcessor(def, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gw, err := New(Config{
		Aggregates: []processors.Definition{def}, Kafka: kafka.Connection{Brokers: brokers},
		StoreDir: t.TempDir(), RecentResults: recent, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := proc.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("processor: %v", err)
		}
	})
	wg.Go(func() {
		if err := gw.Run(ctx); err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
	})
	for gw.Ready(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatalf("never ready: %v", gw.Ready(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return gw, srv, gw.metrics.pending
}

func call(t *testing.T, method, url, body string, headers ...string) (int, codecs.Result, http.Header) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, codecs.Result{}, nil
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, codecs.Result{}, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res codecs.Result
	_ = json.Unmarshal(b, &res)
	return resp.StatusCode, res, resp.Header
}

func TestGatewayWithProcessor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a processor and the gateway on the embedded broker")
	}
	_, srv, pending := startGateway(t, 4)

	t.Run("concurrent requests with one idempotency key get one result each: one first handling, the rest duplicates", func(t *testing.T) {
		const n = 10
		statuses := make(chan codecs.Result, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				code, res, _ := call(t, "POST", srv.URL+"/v1/profile/p-1/SetUsername", `{"username":"ada"}`, "Idempotency-Key", "same")
				if code != 200 {
					t.Errorf("status %d, %+v", code, res)
				}
				statuses <- res
			})
		}
		wg.Wait()
		close(statuses)
		count := map[codecs.Status]int{}
		for r := range statuses {
			count[r.Status]++
			if r.Version != 1 || r.CommandID != "same" {
				t.Errorf("result %+v", r)
			}
		}
		if count[codecs.StatusAccepted] != 1 || count[codecs.StatusDuplicate] != n-1 {
			t.Errorf("statuses %v, want 1 accepted and %d duplicates", count, n-1)
		}
		if v := testutil.ToFloat64(pending); v != 0 {
			t.Errorf("sourced_gateway_results_pending = %v after every request ended", v)
		}
	})

	t.Run("a result the cache forgot is found in the snapshot's recent commands", func(t *testing.T) {
		for i := range 6 {
			code, res, _ := call(t, "POST", srv.URL+"/v1/profile/p-2/Follow", fmt.Sprintf(`{"user_id":"u-%d"}`, i), "Idempotency-Key", fmt.Sprintf("f-%d", i))
			if code != 200 || res.Version != uint64(i+1) {
				t.Fatalf("follow %d: %d %+v", i, code, res)
			}
		}
		// The gateway's view of the table follows it asynchronously: a poll
		// right after the write may find the snapshot not yet there.
		deadline := time.Now().Add(10 * time.Second)
		code, res, hdr := call(t, "GET", srv.URL+"/v1/profile/p-2/commands/f-0", "")
		for code == 404 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			code, res, hdr = call(t, "GET", srv.URL+"/v1/profile/p-2/commands/f-0", "")
		}
		if code != 200 || res.Status != codecs.StatusAccepted || res.Version != 1 || res.Events != 1 || hdr.Get("ETag") != `"1"` {
			t.Fatalf("poll f-0: %d %+v", code, res)
		}
		if code, _, _ := call(t, "GET", srv.URL+"/v1/profile/p-2/commands/f-9", ""); code != 404 {
			t.Fatalf("poll a command never sent: %d", code)
		}
	})

	t.Run("a pending poll turns into the result", func(t *testing.T) {
		code, res, hdr := call(t, "POST", srv.URL+"/v1/profile/p-3/SetUsername", `{"username":"cy"}`, "Prefer", "respond-async")
		if code != 202 || res.Status != StatusPending || hdr.Get("Location") == "" {
			t.Fatalf("respond-async: %d %+v %v", code, res, hdr)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, res, _ = call(t, "GET", srv.URL+hdr.Get("Location"), "")
			if code == 200 {
				break
			}
			if code != 202 || time.Now().After(deadline) {
				t.Fatalf("poll: %d %+v", code, res)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if res.Status != codecs.StatusAccepted || res.Version != 1 {
			t.Fatalf("polled %+v", res)
		}
	})
}

func TestResultCacheForgetsTheOldest(t *testing.T) {
	c := newResultCache(3)
	key := func(i int) resultKey { return resultKey{"a", "x", fmt.Sprint(i)} }
	remembered := func(i int) bool { _, ok := c.get(key(i)); return ok }
	for i := range 5 {
		c.put(key(i), codecs.Result{CommandID: fmt.Sprint(i), Status: codecs.StatusAccepted})
	}
	for i := range 5 {
		if !remembered(i) {
			t.Errorf("key %d forgotten among the last 5 of a cache of 3 (it keeps up to 6)", i)
		}
	}
	for i := 5; i < 100; i++ {
		c.put(key(i), codecs.Result{CommandID: fmt.Sprint(i), Status: codecs.StatusAccepted})
		for j := i - 2; j <= i; j++ {
			if !remembered(j) {
				t.Fatalf("after key %d: key %d, one of the last 3, forgotten", i, j)
			}
		}
		if remembered(i - 6) {
			t.Fatalf("after key %d: key %d remembered, the cache keeps at most 6", i, i-6)
		}
		if n := len(c.current) + len(c.previous); n > 6 {
			t.Fatalf("after key %d: %d entries held, want at most 6", i, n)
		}
	}
	c.put(key(99), codecs.Result{Status: codecs.StatusDuplicate})
	if e, _ := c.get(key(99)); e.res.Status != codecs.StatusAccepted {
		t.Errorf("a duplicate replaced the first handling: %+v", e.res)
	}
	c.pending(key(100))
	if e, ok := c.get(key(100)); !ok || !e.pending {
		t.Errorf("pending not remembered")
	}
	c.pending(key(99))
	if e, _ := c.get(key(99)); e.pending {
		t.Errorf("pending replaced a result: %+v", e)
	}
	c.put(key(100), codecs.Result{Status: codecs.StatusRejected})
	if e, _ := c.get(key(100)); e.pending || e.res.Status != codecs.StatusRejected {
		t.Errorf("the result did not replace pending: %+v", e)
	}
	// A command pending in the previous generation gets its result while
	// the current one has room, and a later lookup finds the result, not
	// the pending entry the previous generation still holds.
	c = newResultCache(3)
	c.pending(key(200))
	for i := 201; i < 204; i++ {
		c.put(key(i), codecs.Result{Status: codecs.StatusAccepted})
	}
	if _, ok := c.previous[key(200)]; !ok || len(c.current) != 1 {
		t.Fatalf("setup: key 200 is not in the previous generation, or the current one is not new (%d)", len(c.current))
	}
	c.put(key(200), codecs.Result{Status: codecs.StatusAccepted, Version: 7})
	if e, ok := c.get(key(200)); !ok || e.pending || e.res.Version != 7 {
		t.Errorf("a result that arrived for a command pending in the previous generation: %+v, %v", e, ok)
	}
	// A duplicate of a result held by the previous generation does not
	// replace it, and marking it pending does not hide it.
	c.put(key(201), codecs.Result{Status: codecs.StatusDuplicate})
	c.pending(key(201))
	if e, _ := c.get(key(201)); e.pending || e.res.Status != codecs.StatusAccepted {
		t.Errorf("a result in the previous generation after a duplicate and a pending mark: %+v", e)
	}
	if _, ok := c.current[key(201)]; ok {
		t.Errorf("a duplicate of a remembered result took a slot of the current generation")
	}
}
