package estest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// FaultProxy is an HTTP reverse proxy that injects the whole-request
// faults of its Faults (status answers, delays, dropped connections) in
// front of any Elasticsearch, real or estest, and forwards every other
// request untouched. Bulk item rules (RejectItem) need the server itself:
// the proxy ignores them.
//
// With the same Fault rules in front of both, one test injects an outage
// the same way whether it runs against estest or a real node.
type FaultProxy struct {
	faults *Faults
	proxy  *httputil.ReverseProxy
}

// NewFaultProxy returns a proxy to the server at target
// ("http://127.0.0.1:9200"), with no rules yet.
func NewFaultProxy(target string) (*FaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("estest: fault proxy: target %q: want an http(s) URL", target)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	return &FaultProxy{faults: newFaults(time.Now), proxy: rp}, nil
}

// Faults returns the proxy's rules. Changes apply to the next request.
func (p *FaultProxy) Faults() *Faults { return p.faults }

// ServeHTTP answers the request with the first rule that fires, or
// forwards it (after any delays).
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: then net/http watches the connection and ends
	// the request's context when the client goes away, which cuts a delay
	// short (and the request is not forwarded).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// Elasticsearch names itself on every answer, errors included.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if p.faults.apply(w, r) {
		return
	}
	w.Header().Del("X-Elastic-Product") // the server's own answer carries it
	if r.Context().Err() != nil {
		return // the client left during a delay
	}
	p.proxy.ServeHTTP(w, r)
}
