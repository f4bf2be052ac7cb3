package estest

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is one programmable failure. The match fields select requests;
// the firing fields limit how often it fires; the effect fields say what
// happens. A request (or bulk item) is checked against the rules in the
// order they were added, and the first rule that matches and fires wins.
type Fault struct {
	// Method restricts the rule to one HTTP method. Default: any.
	Method string
	// Path restricts the rule to request paths equal to it or ending in it,
	// so "/_bulk" matches both /_bulk and /idx/_bulk. Default: any path.
	Path string

	// Times is how many times the rule fires before it is used up. For
	// item rules each rejected item counts. Default: 0, unlimited.
	Times int
	// For limits the rule to a duration on the server's clock, starting
	// when the rule is added. Default: 0, no limit.
	For time.Duration
	// Probability fires the rule on this fraction of matches. Default: 0,
	// meaning always.
	Probability float64

	// Status answers the whole request with this HTTP status and Body
	// (a default ES error body for the status when Body is empty). The
	// request is not applied.
	Status int
	// Body is the response body for Status.
	Body string
	// Delay waits this long (real time) before serving the request. A rule
	// with only Delay set lets the request through afterwards.
	Delay time.Duration
	// DropConnection hijacks the connection and closes it without a
	// response. The request is not applied.
	DropConnection bool
	// RejectItem, when set, turns the rule into a bulk item rule: every
	// item it returns true for fails with ItemStatus and ItemType (inside
	// an HTTP 200) and is not applied. action is index, create, update or
	// delete; index is the index or alias named by the item.
	RejectItem func(action, index, id string) bool
	// ItemStatus is the status of rejected items. Default: 429.
	ItemStatus int
	// ItemType is the error type of rejected items.
	// Default: es_rejected_execution_exception.
	ItemType string
}

type faultRule struct {
	Fault
	until time.Time
	fired int
}

// Faults holds the fault rules of a Server. It is safe for concurrent use.
type Faults struct {
	clock         func() time.Time
	mu            sync.Mutex
	rules         []*faultRule
	missingHeader bool
}

func newFaults(clock func() time.Time) *Faults { return &Faults{clock: clock} }

// Add appends a rule.
func (f *Faults) Add(rule Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &faultRule{Fault: rule}
	if rule.For > 0 {
		r.until = f.clock().Add(rule.For)
	}
	f.rules = append(f.rules, r)
}

// Clear removes every rule and restores the product header.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
	f.missingHeader = false
}

// SetMissingProductHeader makes the server omit (true) or send (false) the
// X-Elastic-Product header, so a client's product check can be tested.
func (f *Faults) SetMissingProductHeader(missing bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.missingHeader = missing
}

// MissingProductHeader reports whether the product header is suppressed.
func (f *Faults) MissingProductHeader() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.missingHeader
}

// RejectRequests adds a rule answering the next n requests whose path ends
// in path with status (n <= 0: unlimited), using ES's usual body for that
// status: indexing-pressure es_rejected_execution_exception for 429,
// unavailable_shards_exception-style for 503.
func (f *Faults) RejectRequests(path string, status, n int) {
	f.Add(Fault{Path: path, Status: status, Times: n})
}

// RejectRequestsFor adds a rule answering every request whose path ends in
// path with status for the duration d on the server's clock.
func (f *Faults) RejectRequestsFor(path string, status int, d time.Duration) {
	f.Add(Fault{Path: path, Status: status, For: d})
}

// RejectItems adds a rule failing the next n bulk items that match with
// 429 es_rejected_execution_exception (n <= 0: unlimited). A nil match
// matches every item.
func (f *Faults) RejectItems(n int, match func(action, index, id string) bool) {
	if match == nil {
		match = func(string, string, string) bool { return true }
	}
	f.Add(Fault{RejectItem: match, Times: n})
}

// Delay adds a rule delaying every request whose path ends in path by d.
func (f *Faults) Delay(path string, d time.Duration) {
	f.Add(Fault{Path: path, Delay: d})
}

// DropConnections adds a rule closing the connection of the next n
// requests whose path ends in path, without a response.
func (f *Faults) DropConnections(path string, n int) {
	f.Add(Fault{Path: path, DropConnection: true, Times: n})
}

// CircuitBreaker adds a rule answering the next n requests whose path ends
// in path with the parent circuit breaker's 429.
func (f *Faults) CircuitBreaker(path string, n int) {
	f.Add(Fault{Path: path, Status: http.StatusTooManyRequests, Body: CircuitBreakerBody, Times: n})
}

// Bodies of typical whole-request rejections.
const (
	// IndexingPressureBody is ES's whole-request 429 under indexing pressure.
	IndexingPressureBody = `{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, replica_bytes=0, all_bytes=104857600, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=104857600]"}],"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, replica_bytes=0, all_bytes=104857600, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=104857600]"},"status":429}`
	// CircuitBreakerBody is ES's whole-request 429 from the parent breaker.
	CircuitBreakerBody = `{"error":{"root_cause":[{"type":"circuit_breaking_exception","reason":"[parent] Data too large, data for [<http_request>] would be [1073741824/1gb], which is larger than the limit of [1020054732/972.7mb]","bytes_wanted":1073741824,"bytes_limit":1020054732,"durability":"TRANSIENT"}],"type":"circuit_breaking_exception","reason":"[parent] Data too large, data for [<http_request>] would be [1073741824/1gb], which is larger than the limit of [1020054732/972.7mb]","bytes_wanted":1073741824,"bytes_limit":1020054732,"durability":"TRANSIENT"},"status":429}`
	// UnavailableBody is a whole-request 503.
	UnavailableBody = `{"error":{"root_cause":[{"type":"unavailable_shards_exception","reason":"[estest][0] primary shard is not active Timeout: [1m]"}],"type":"unavailable_shards_exception","reason":"[estest][0] primary shard is not active Timeout: [1m]"},"status":503}`
)

func defaultFaultBody(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return IndexingPressureBody
	case http.StatusServiceUnavailable:
		return UnavailableBody
	}
	b, _ := json.Marshal(newErr(status, "exception", "estest: injected fault (HTTP %d)", status).body())
	return string(b)
}

// live reports whether the rule can still fire, and consumes one firing
// when it does. Called with f.mu held.
func (r *faultRule) fire(now time.Time) bool {
	if r.Times > 0 && r.fired >= r.Times {
		return false
	}
	if !r.until.IsZero() && !now.Before(r.until) {
		return false
	}
	if r.Probability > 0 && r.Probability < 1 && rand.Float64() >= r.Probability {
		return false
	}
	r.fired++
	return true
}

func (r *faultRule) matches(req *http.Request) bool {
	if r.RejectItem != nil {
		return false
	}
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	p := req.URL.Path
	return r.Path == "" || p == r.Path || strings.HasSuffix(strings.TrimSuffix(p, "/"), r.Path)
}

// apply runs the whole-request rules for req. It reports whether the
// request was answered (or dropped) and must not be served.
func (f *Faults) apply(w http.ResponseWriter, req *http.Request) bool {
	var delay time.Duration
	var hit *faultRule
	f.mu.Lock()
	now := f.clock()
	for _, r := range f.rules {
		if !r.matches(req) || !r.fire(now) {
			continue
		}
		if r.Status == 0 && !r.DropConnection {
			delay += r.Delay
			continue
		}
		hit = r
		break
	}
	f.mu.Unlock()
	if hit != nil {
		delay += hit.Delay
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
		}
	}
	if hit == nil {
		return false
	}
	if hit.DropConnection {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	body := hit.Body
	if body == "" {
		body = defaultFaultBody(hit.Status)
	}
	writeRaw(w, req, hit.Status, []byte(body))
	return true
}

// rejectItem runs the item rules for one bulk item. It returns the error to
// report, or nil to apply the item.
func (f *Faults) rejectItem(action, index, id string) *esError {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock()
	for _, r := range f.rules {
		if r.RejectItem == nil || !r.RejectItem(action, index, id) || !r.fire(now) {
			continue
		}
		st, typ := r.ItemStatus, r.ItemType
		if st == 0 {
			st = http.StatusTooManyRequests
		}
		if typ == "" {
			typ = "es_rejected_execution_exception"
		}
		return newErr(st, typ, "rejected execution of org.elasticsearch.action.support.replication.TransportWriteAction$1@1f2e3d4c on EsThreadPoolExecutor[name = estest/write, queue capacity = 10000, task execution rejected]")
	}
	return nil
}
