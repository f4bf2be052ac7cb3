package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	writeToken = "writer-token-0123456789"
	readToken  = "reader-token-0123456789"
	adminToken = "admin-token-0123456789"
)

// api is an HTTP client of one gateway.
type api struct {
	t     *testing.T
	base  string // http://host:port
	token string // bearer token sent unless a request sets Authorization
}

// reply is an answer: its status, headers, raw body and the body decoded
// as a JSON object (nil when it is not one).
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r reply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r reply) num(key string) uint64 {
	f, _ := r.body[key].(float64)
	return uint64(f)
}

// list returns the array at a path of object keys ("state", "following").
func (r reply) list(path ...string) []any {
	var v any = r.body
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	l, _ := v.([]any)
	return l
}

// do sends a request; headers are name, value pairs. A body is sent as
// application/json unless a Content-Type header is given. A transport
// error gives status 0 with the error as the raw body.
func (a api) do(method, path string, body []byte, headers ...string) reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// Status 0: callers in other goroutines cannot call Fatal.
		return reply{raw: []byte(err.Error())}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{raw: []byte(err.Error())}
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (a api) post(path, body string, headers ...string) reply {
	a.t.Helper()
	return a.do(http.MethodPost, path, []byte(body), headers...)
}

func (a api) get(path string, headers ...string) reply {
	a.t.Helper()
	return a.do(http.MethodGet, path, nil, headers...)
}

// waitReady polls /readyz until it answers 200.
func (a api) waitReady(out func() string) {
	a.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(a.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s never ready:\n%s", a.base, out())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantStatus fails unless r has the status and, for an error, a JSON
// {code, message} with the code.
func wantStatus(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.raw, status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
	if r.body == nil {
		t.Fatalf("%s: body %q is not a JSON object", what, r.raw)
	}
	if code != "" && (r.str("code") != code || r.str("message") == "") {
		t.Fatalf("%s: body %s, want code %q with a message", what, r.raw, code)
	}
}

func writeTokens(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("# test tokens\n"+writeToken+" write\n"+readToken+" read\n"+adminToken+" admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGatewayOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sourced dev and a second gateway as child processes (~40 s)")
	}
	dataDir, httpAddr, tokens := t.TempDir(), freeAddr(t), writeTokens(t)
	kafkaArgs, k := devKafka(t)
	listen := k.brokers
	devArgs := append([]string{"dev", "--data-dir", dataDir, "--http", httpAddr, "--partitions", "4", "--tokens-file", tokens}, kafkaArgs...)
	dev := startProcess(t, "", append(devArgs, devESArgs(t)...)...)
	gw := api{t: t, base: "http://" + httpAddr, token: writeToken}
	gw.waitReady(func() string { return outputOf(dev) })
	if out := outputOf(dev); !strings.Contains(out, "curl -s -X POST http://"+httpAddr+"/v1/invoice/inv-1/CreateInvoice") {
		t.Fatalf("dev does not print the curl lines:\n%s", out)
	}

	t.Run("commands are answered 200 accepted, 200 duplicate, 422 rejected and 409 conflict", func(t *testing.T) {
		gw := gw
		gw.t = t
		r := gw.post("/v1/invoice/st-1/CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`, "Idempotency-Key", "st-1-create")
		wantStatus(t, "create", r, 200, "")
		if r.str("status") != "accepted" || r.num("version") != 1 || r.str("command_id") != "st-1-create" || r.header.Get("ETag") != `"1"` {
			t.Fatalf("create: %s, ETag %s", r.raw, r.header.Get("ETag"))
		}
		r = gw.post("/v1/invoice/st-1/CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`, "Idempotency-Key", "st-1-create")
		wantStatus(t, "retry", r, 200, "")
		if r.str("status") != "duplicate" || r.num("version") != 1 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %s, headers %v", r.raw, r.header)
		}
		r = gw.post("/v1/invoice/st-1/IssueInvoice", "")
		wantStatus(t, "issue an empty invoice", r, 422, "empty_invoice")
		if errBody, _ := r.body["error"].(map[string]any); r.str("status") != "rejected" || errBody["code"] != "empty_invoice" {
			t.Fatalf("rejected: %s", r.raw)
		}
		r = gw.post("/v1/invoice/st-1/AddLineItem", `{"line_id":"l1","description":"w","quantity":1,"unit_price":100}`, "If-Match", `"0"`)
		wantStatus(t, "stale If-Match", r, 409, "conflict")
		if r.str("status") != "conflict" || r.num("version") != 1 {
			t.Fatalf("conflict: %s", r.raw)
		}
		r = gw.post("/v1/invoice/st-1/AddLineItem", `{"line_id":"l1","description":"w","quantity":1,"unit_price":100}`, "If-Match", r.header.Get("ETag"))
		wantStatus(t, "If-Match with the current ETag", r, 200, "")
		if r.num("version") != 2 {
			t.Fatalf("add: %s", r.raw)
		}
		r = gw.post("/v1/invoice/st-1/AddLineItem", `{"line_id":"l2","description":"w","quantity":0,"unit_price":100}`)
		wantStatus(t, "a quantity of 0", r, 422, "invalid")
		r = gw.get("/v1/invoice/st-1?min_version=2")
		if r.status != 200 || r.header.Get("ETag") != `"2"` || r.num("version") != 2 || len(r.list("state", "lines")) != 1 {
			t.Fatalf("read: %d %s", r.status, r.raw)
		}
		if r := gw.get("/v1/invoice/st-1", "If-None-Match", `"2"`); r.status != 304 {
			t.Fatalf("If-None-Match with the current ETag: %d %s", r.status, r.raw)
		}
	})

	t.Run("a command without its result in time is 202 with a Location that polls to the result", func(t *testing.T) {
		gw := gw
		gw.t = t
		r := gw.post("/v1/profile/async-1/SetUsername", `{"username":"ada"}`, "Prefer", "wait=0", "Idempotency-Key", "async-1")
		wantStatus(t, "Prefer: wait=0", r, 202, "")
		loc := r.header.Get("Location")
		if r.str("status") != "pending" || r.str("command_id") != "async-1" || loc != "/v1/profile/async-1/commands/async-1" {
			t.Fatalf("202: %s, Location %q", r.raw, loc)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			r = gw.get(loc)
			if r.status == 200 {
				break
			}
			wantStatus(t, "poll", r, 202, "")
			if time.Now().After(deadline) {
				t.Fatalf("still pending after 10 s: %s", r.raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.str("status") != "accepted" || r.num("version") != 1 {
			t.Fatalf("polled result: %s", r.raw)
		}
		wantStatus(t, "an unknown command id", gw.get("/v1/profile/async-1/commands/never-sent"), 404, "command_not_found")
	})

	t.Run("reads with the version of a write never show older state, under concurrent writers", func(t *testing.T) {
		const writers, writes = 6, 15
		var wg sync.WaitGroup
		errs := make(chan string, writers*writes)
		for w := range writers {
			wg.Go(func() {
				c := api{t: t, base: gw.base, token: writeToken}
				for n := range writes {
					id, follow := fmt.Sprintf("ryw-%d", w%2), fmt.Sprintf("w%d-%d", w, n)
					r := c.post("/v1/profile/"+id+"/Follow", `{"user_id":"`+follow+`"}`)
					if r.status != 200 {
						errs <- fmt.Sprintf("follow %s: %d %s", follow, r.status, r.raw)
						return
					}
					v := r.num("version")
					s := c.get(fmt.Sprintf("/v1/profile/%s?min_version=%d", id, v))
					if s.status != 200 || s.num("version") < v || !slices.Contains(s.list("state", "following"), any(follow)) {
						errs <- fmt.Sprintf("after write %d of %s: %d %s", v, follow, s.status, s.raw)
					}
					d := c.get(fmt.Sprintf("/v1/views/profile/%s?min_version=%d", id, v))
					if d.status != 200 || d.num("version") < v || !slices.Contains(d.list("source", "following"), any(follow)) {
						errs <- fmt.Sprintf("view after write %d of %s: %d %s", v, follow, d.status, d.raw)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		r := gw.get("/v1/profile/ryw-0")
		if r.num("version") != writers/2*writes || len(r.list("state", "following")) != writers/2*writes {
			t.Errorf("final state: %s", r.raw)
		}
	})

	t.Run("bad input gets a 4xx JSON error and the gateway keeps serving", func(t *testing.T) {
		anon := api{t: t, base: gw.base}
		reader := api{t: t, base: gw.base, token: readToken}
		wrong := api{t: t, base: gw.base, token: "wrong-token-0123456789"}
		gw := gw
		gw.t = t
		create := `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`
		for _, tc := range []struct {
			name   string
			send   func() reply
			status int
			code   string
		}{
			{"malformed JSON", func() reply { return gw.post("/v1/invoice/bad-1/CreateInvoice", `{"customer":`) }, 400, "malformed_json"},
			{"a JSON array", func() reply { return gw.post("/v1/invoice/bad-1/CreateInvoice", `[1]`) }, 400, "malformed_json"},
			{"an unknown command", func() reply { return gw.post("/v1/invoice/bad-1/Frobnicate", `{}`) }, 404, "unknown_command"},
			{"an unknown aggregate", func() reply { return gw.post("/v1/order/bad-1/CreateOrder", `{}`) }, 404, "unknown_aggregate"},
			{"an oversized body", func() reply {
				return gw.post("/v1/invoice/bad-1/CreateInvoice", `{"customer":"`+strings.Repeat("a", 1<<20)+`"}`)
			}, 413, "too_large"},
			{"an id with a space", func() reply { return gw.post("/v1/invoice/bad%20id/CreateInvoice", create) }, 400, "invalid_id"},
			{"an id of 129 characters", func() reply { return gw.post("/v1/invoice/"+strings.Repeat("x", 129)+"/CreateInvoice", create) }, 400, "invalid_id"},
			{"a bad idempotency key", func() reply { return gw.post("/v1/invoice/bad-1/CreateInvoice", create, "Idempotency-Key", "a b") }, 400, "invalid_idempotency_key"},
			{"a non-integer If-Match", func() reply { return gw.post("/v1/invoice/bad-1/CreateInvoice", create, "If-Match", `"v1"`) }, 400, "invalid_if_match"},
			{"a missing token", func() reply { return anon.post("/v1/invoice/bad-1/CreateInvoice", create) }, 401, "unauthorized"},
			{"a missing token on a read", func() reply { return anon.get("/v1/invoice/st-1") }, 401, "unauthorized"},
			{"a wrong token", func() reply { return wrong.get("/v1/invoice/st-1") }, 401, "unauthorized"},
			{"a read token on a POST", func() reply { return reader.post("/v1/invoice/bad-1/CreateInvoice", create) }, 403, "forbidden"},
			{"a wrong content type", func() reply {
				return gw.post("/v1/invoice/bad-1/CreateInvoice", create, "Content-Type", "text/plain")
			}, 415, "unsupported_media_type"},
			{"a bad min_version", func() reply { return gw.get("/v1/invoice/st-1?min_version=new") }, 400, "invalid_parameter"},
			{"an unknown view", func() reply { return gw.get("/v1/views/orders?q=x") }, 404, "unknown_view"},
			{"a bad cursor", func() reply { return gw.get("/v1/views/invoice-search?after=bm90LWEtY3Vyc29y") }, 400, "invalid_cursor"},
			{"a PUT", func() reply { return gw.do(http.MethodPut, "/v1/invoice/st-1", nil) }, 405, "method_not_allowed"},
			{"an unknown route", func() reply { return gw.get("/v1/invoice/st-1/history/all") }, 404, "no_route"},
			{"a missing aggregate", func() reply { return gw.get("/v1/invoice/never-created") }, 404, "not_found"},
		} {
			wantStatus(t, tc.name, tc.send(), tc.status, tc.code)
			if r := reader.get("/v1/invoice/st-1"); r.status != 200 || r.num("version") < 2 {
				t.Fatalf("after %s: the gateway answers %d %s", tc.name, r.status, r.raw)
			}
		}
		if r := gw.post("/v1/invoice/bad-1/CreateInvoice", create); r.status != 200 {
			t.Fatalf("a valid command after the bad ones: %d %s", r.status, r.raw)
		}
	})

	t.Run("a search pages through every match once, in order, with cursors", func(t *testing.T) {
		gw := gw
		gw.t = t
		const n = 23
		for i := range n {
			// Five due dates: ties that only the id tiebreaker orders.
			body := fmt.Sprintf(`{"customer":"pager co","currency":"EUR","due_date":"2026-12-%02d"}`, 10+i%5)
			if r := gw.post(fmt.Sprintf("/v1/invoice/page-%02d/CreateInvoice", i), body); r.status != 200 {
				t.Fatalf("create page-%02d: %d %s", i, r.status, r.raw)
			}
		}
		for i := range n {
			if r := gw.get(fmt.Sprintf("/v1/views/invoice-search/page-%02d?min_version=1", i)); r.status != 200 {
				t.Fatalf("page-%02d not in the view: %d %s", i, r.status, r.raw)
			}
		}
		query := "/v1/views/invoice-search?filter=customer.keyword:pager%20co&sort=due_date:desc&size=5"
		// A read by id sees a write at once; a search sees it after the
		// next refresh: Elasticsearch refreshes every second (bleve at
		// once), so wait until the search finds every document.
		eventually(t, 10*time.Second, func() string {
			if r := gw.get(query); r.status != 200 || r.num("total") != n {
				return fmt.Sprintf("search: %d %s, want %d hits", r.status, r.raw, n)
			}
			return ""
		})
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > n {
				t.Fatal("paging does not end")
			}
			r := gw.get(query + after)
			wantStatus(t, "search", r, 200, "")
			if r.num("total") != n {
				t.Fatalf("page %d: total %d, want %d", page, r.num("total"), n)
			}
			for _, h := range r.list("hits") {
				id, _ := h.(map[string]any)["id"].(string)
				got = append(got, id)
			}
			next := r.str("next")
			if next == "" {
				break
			}
			if page == 0 {
				wantStatus(t, "the cursor with another query", gw.get("/v1/views/invoice-search?filter=customer.keyword:pager%20co&size=5&after="+next), 400, "invalid_cursor")
			}
			after = "&after=" + next
		}
		var want []string
		for day := 14; day >= 10; day-- {
			for i := range n {
				if 10+i%5 == day {
					want = append(want, fmt.Sprintf("page-%02d", i))
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged ids\n got %v\nwant %v", got, want)
		}
	})

	t.Run("two gateway replicas on one broker each receive their own results", func(t *testing.T) {
		http2 := freeAddr(t)
		replica := startProcess(t, listen, "run", "gateway", "--http", http2, "--data-dir", t.TempDir(), "--tokens-file", tokens)
		gw2 := api{t: t, base: "http://" + http2, token: writeToken}
		gw2.waitReady(func() string { return outputOf(replica) })
		wantStatus(t, "a view read without --es-url", gw2.get("/v1/views/profile/p-1"), 503, "no_view_store")
		const perReplica, commands = 4, 20
		var wg sync.WaitGroup
		errs := make(chan string, 2*perReplica*commands)
		for r, base := range []string{gw.base, gw2.base} {
			for w := range perReplica {
				wg.Go(func() {
					c := api{t: t, base: base, token: writeToken}
					for n := range commands {
						id := fmt.Sprintf("rep-%d-%d-%d", r, w, n)
						res := c.post("/v1/profile/"+id+"/SetUsername", `{"username":"`+id+`"}`, "Idempotency-Key", id)
						if res.status != 200 || res.str("status") != "accepted" || res.str("command_id") != id || res.num("version") != 1 {
							errs <- fmt.Sprintf("replica %d, %s: %d %s", r+1, id, res.status, res.raw)
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		// Each replica reads every result: one sent through the other
		// replica can be polled on this one.
		if r := gw2.get("/v1/profile/rep-0-0-0/commands/rep-0-0-0"); r.status != 200 || r.str("status") != "accepted" {
			t.Errorf("replica 2 polling a command of replica 1: %d %s", r.status, r.raw)
		}
		_ = replica.Process.Signal(syscall.SIGTERM)
		if err := replica.Wait(); err != nil {
			t.Fatalf("replica did not stop cleanly: %v\n%s", err, outputOf(replica))
		}
	})

	t.Run("view rebuild runs inside dev through the gateway while dev serves", func(t *testing.T) {
		code, out := runSourced(t, listen, "view", "rebuild", "invoice-search", "--gateway", gw.base, "--token", readToken)
		if code == 0 || !strings.Contains(out, "403") {
			t.Fatalf("rebuild with a read token: exit %d:\n%s", code, out)
		}
		code, out = runSourced(t, listen, "view", "rebuild", "invoice-search", "--gateway", gw.base, "--token", writeToken)
		if code == 0 || !strings.Contains(out, "403") || !strings.Contains(out, "admin token") {
			t.Fatalf("rebuild with a write token: exit %d:\n%s", code, out)
		}
		code, out = runSourced(t, listen, "view", "rebuild", "invoice-search", "--gateway", gw.base, "--token", adminToken)
		if code != 0 || !strings.Contains(out, "invoice-search now serves generation 2 (invoice-search-v2); removed invoice-search-v1") {
			t.Fatalf("rebuild through the gateway: exit %d:\n%s", code, out)
		}
		r := gw.get("/v1/views/invoice-search/st-1?min_version=2")
		if r.status != 200 || r.str("index") != "invoice-search-v2" || r.num("version") != 2 {
			t.Fatalf("st-1 after the rebuild: %d %s", r.status, r.raw)
		}
	})

	t.Run("shutdown lets a request in flight finish", func(t *testing.T) {
		done := make(chan reply, 1)
		go func() {
			done <- api{t: t, base: gw.base, token: readToken}.get("/v1/invoice/st-1?min_version=1000", "Prefer", "wait=2")
		}()
		time.Sleep(300 * time.Millisecond) // the read is waiting
		if err := dev.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		r := <-done
		wantStatus(t, "the read in flight", r, 504, "not_caught_up")
		if err := dev.Wait(); err != nil {
			t.Fatalf("dev did not stop cleanly: %v\n%s", err, outputOf(dev))
		}
	})
}

// post sends a command with a context of its own (to abandon it), and
// returns the reply; status 0 when the request failed.
func (a api) postCtx(ctx context.Context, path, body string, headers ...string) reply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, strings.NewReader(body))
	if err != nil {
		return reply{raw: []byte(err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{raw: []byte(err.Error())}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// TestGatewayShedsOverload stages both kinds of overload with a stopped
// processor: results that never come hold the in-flight bound (2), and
// commands produced while nobody processes them grow the lag past its
// bound (5). Shed commands are never produced; every command that was
// produced is processed once a processor runs again, and its result can
// be polled.
func TestGatewayShedsOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker, a processor and a gateway as child processes (~30 s)")
	}
	k := newTestKafka(t, t.TempDir())
	if code, out := runSourced(t, k.brokers, k.ensureArgs(2)...); code != 0 {
		t.Fatalf("topics ensure: exit %d\n%s", code, out)
	}
	topics := k.topics("profile")
	procDir := t.TempDir()
	startProcessor := func() *exec.Cmd {
		cmd, _ := startChild(t, k.env(), "run", "processor", "--aggregate", "profile", "--data-dir", procDir)
		return cmd
	}
	proc := startProcessor()
	httpAddr := freeAddr(t)
	_, gwOut := startChild(t, k.env(), "run", "gateway", "--http", httpAddr, "--data-dir", t.TempDir(),
		"--max-in-flight", "2", "--max-command-lag", "5", "--lag-interval", "200ms", "--result-wait", "60s",
		"--http-read-timeout", "500ms")
	gw := api{t: t, base: "http://" + httpAddr}
	gw.waitReady(gwOut.String)

	metric := func(name string, labels ...string) float64 {
		v, _ := scrape(t, gw.base).Value(name, labels...)
		return v
	}
	wantMetric := func(name string, want float64, labels ...string) {
		t.Helper()
		eventually(t, 60*time.Second, func() string {
			if v := metric(name, labels...); v != want {
				return fmt.Sprintf("%s%v = %v, want %v", name, labels, v, want)
			}
			return ""
		})
	}

	// The processor runs: a command is answered, and its group's lag
	// becomes known to the gateway.
	eventually(t, 60*time.Second, func() string {
		if r := gw.post("/v1/profile/shed-0/SetUsername", `{"username":"a"}`, "Idempotency-Key", "shed-0"); r.status != 200 {
			return fmt.Sprintf("first command: %d %s", r.status, r.raw)
		}
		return ""
	})
	eventually(t, 60*time.Second, func() string {
		if _, ok := scrape(t, gw.base).Value("sourced_consumer_lag", "group", topics.Group, "topic", topics.Commands); !ok {
			return "the gateway reports no lag of " + topics.Group
		}
		return ""
	})

	t.Run("a client trickling a command's body gets 408 and its connection closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		head := "POST /v1/profile/slow-1/SetUsername HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		go func() {
			for range 100 {
				if _, err := conn.Write([]byte(" ")); err != nil {
					return // closed by the server
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		// --http-read-timeout is 500 ms; the trickle would take 10 s.
		_ = conn.SetReadDeadline(time.Now().Add(8 * time.Second))
		got, err := io.ReadAll(conn)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the gateway still holds the connection (read %q)", got)
		}
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 408")) || !bytes.Contains(got, []byte(`"request_timeout"`)) {
			t.Fatalf("answer %q, want 408 request_timeout", got)
		}
	})

	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(); err != nil {
		t.Fatalf("processor did not stop cleanly: %v", err)
	}

	produced := []string{"shed-0"} // command ids (and aggregate ids) that must get a result
	t.Run("beyond the in-flight bound a command is answered 429 with Retry-After", func(t *testing.T) {
		ctx, abandon := context.WithCancel(context.Background())
		held := make(chan reply, 2)
		for _, id := range []string{"held-1", "held-2"} {
			produced = append(produced, id)
			go func() {
				held <- gw.postCtx(ctx, "/v1/profile/"+id+"/SetUsername", `{"username":"h"}`, "Idempotency-Key", id)
			}()
		}
		wantMetric("sourced_gateway_commands_in_flight", 2)
		r := gw.post("/v1/profile/over-1/SetUsername", `{"username":"o"}`, "Idempotency-Key", "over-1")
		wantStatus(t, "a third command", r, 429, "overloaded")
		if ra := r.header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		if v := metric("sourced_gateway_shed_total", "aggregate", "profile", "reason", "overloaded"); v != 1 {
			t.Errorf("sourced_gateway_shed_total{overloaded} = %v, want 1", v)
		}
		// The clients give up: their slots are freed, their commands stay
		// produced.
		abandon()
		for range 2 {
			<-held
		}
		wantMetric("sourced_gateway_commands_in_flight", 0)
	})

	t.Run("while the processors are behind by more than the bound commands are answered 503", func(t *testing.T) {
		for i := 0; ; i++ {
			if i > 200 {
				t.Fatalf("still accepting after %d commands with the processor stopped", i)
			}
			id := fmt.Sprintf("lag-%d", i)
			r := gw.post("/v1/profile/"+id+"/SetUsername", `{"username":"l"}`, "Idempotency-Key", id, "Prefer", "wait=0")
			if r.status == 202 {
				produced = append(produced, id)
				time.Sleep(50 * time.Millisecond) // the lag is polled every 200 ms
				continue
			}
			wantStatus(t, "a command while the lag is over 5", r, 503, "processors_behind")
			if r.header.Get("Retry-After") == "" {
				t.Errorf("no Retry-After: %v", r.header)
			}
			if len(produced) < 1+2+4 {
				t.Errorf("shed with only %d commands produced: the lag cannot be over 5", len(produced))
			}
			break
		}
		if v := metric("sourced_gateway_shed_total", "aggregate", "profile", "reason", "processors_behind"); v < 1 {
			t.Errorf("sourced_gateway_shed_total{processors_behind} = %v, want at least 1", v)
		}
	})

	t.Run("a shed command was never produced", func(t *testing.T) {
		for _, rec := range readTopic(t, k.brokers, topics.Commands) {
			if bytes.Contains(rec.Value, []byte(`"over-1"`)) {
				t.Fatalf("the command shed with 429 is on %s: %s", topics.Commands, rec.Value)
			}
		}
	})

	t.Run("once a processor runs again every produced command gets its result and commands are accepted", func(t *testing.T) {
		startProcessor()
		eventually(t, 90*time.Second, func() string {
			r := gw.post("/v1/profile/after-1/SetUsername", `{"username":"z"}`, "Idempotency-Key", "after-1")
			if r.status != 200 {
				return fmt.Sprintf("a command after the restart: %d %s", r.status, r.raw)
			}
			return ""
		})
		for _, id := range produced {
			eventually(t, 30*time.Second, func() string {
				r := gw.get("/v1/profile/" + id + "/commands/" + id)
				if r.status != 200 || r.str("status") != "accepted" {
					return fmt.Sprintf("command %s: %d %s", id, r.status, r.raw)
				}
				return ""
			})
		}
		if r := gw.get("/v1/profile/over-1/commands/over-1"); r.status != 404 {
			t.Errorf("the shed command over-1: %d %s, want 404", r.status, r.raw)
		}
	})
}
