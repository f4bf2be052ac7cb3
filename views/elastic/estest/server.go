package estest

import (
	"bytes"
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server. The zero value behaves like a fresh
// single-node Elasticsearch 8.19 with default settings.
type Options struct {
	// Clock is the time source for periodic refreshes, tombstone expiry,
	// point-in-time keep-alives and fault durations.
	// Default: time.Now.
	Clock func() time.Time
	// DefaultShards is index.number_of_shards for indices created without
	// it. It only changes the _shards counts. Default: 1.
	DefaultShards int
	// DefaultReplicas is index.number_of_replicas for indices created
	// without it. A negative value means 0. Default: 1 (as in ES, the
	// replica stays unassigned, so writes report total 2, successful 1).
	DefaultReplicas int
	// GCDeletes is index.gc_deletes for indices created without it: how
	// long a delete's tombstone (and its version) is remembered. A
	// negative value keeps none. Default: 60s.
	GCDeletes time.Duration
	// RefreshInterval is index.refresh_interval for indices created
	// without it. A negative value disables periodic refreshes.
	// Default: 1s.
	RefreshInterval time.Duration
	// MaxResultWindow is index.max_result_window for indices created
	// without it. Default: 10000.
	MaxResultWindow int
	// DisableAutoCreateIndex turns off action.auto_create_index, so writes
	// to a missing index fail with index_not_found_exception.
	// Default: false (indices are created on first write).
	DisableAutoCreateIndex bool
	// AllowWildcardDeletes starts the server with
	// action.destructive_requires_name=false. Default: false (ES 8 refuses
	// DELETE with wildcards or _all).
	AllowWildcardDeletes bool
	// LenientContentType accepts request bodies with any Content-Type.
	// Default: false (ES answers 406 for types other than JSON/NDJSON).
	LenientContentType bool
}

func (o *Options) setDefaults() {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.DefaultShards <= 0 {
		o.DefaultShards = 1
	}
	if o.DefaultReplicas == 0 {
		o.DefaultReplicas = 1
	} else if o.DefaultReplicas < 0 {
		o.DefaultReplicas = 0
	}
	if o.GCDeletes == 0 {
		o.GCDeletes = 60 * time.Second
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = time.Second
	}
	if o.MaxResultWindow <= 0 {
		o.MaxResultWindow = 10000
	}
}

// Server is an in-memory Elasticsearch node. It implements http.Handler.
// All methods are safe for concurrent use.
type Server struct {
	opts   Options
	faults *Faults

	mu                      sync.Mutex
	indices                 map[string]*index
	destructiveRequiresName bool
	clusterSettings         map[string]map[string]any // "persistent"/"transient" -> flat settings
	pits                    map[string]*pit
	seq                     int64 // for uuids and generated ids

	requests     atomic.Int64
	bulkRequests atomic.Int64
	bulkItems    atomic.Int64
	searches     atomic.Int64
}

// New returns a Server with no indices.
func New(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts}
	s.faults = newFaults(opts.Clock)
	s.reset()
	return s
}

// Faults returns the server's fault rules. Changes apply to the next
// request.
func (s *Server) Faults() *Faults { return s.faults }

// Reset drops every index, alias, point in time and fault rule, and
// restores the cluster settings. Counters are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	s.reset()
	s.mu.Unlock()
	s.faults.Clear()
}

func (s *Server) reset() {
	s.indices = map[string]*index{}
	s.destructiveRequiresName = !s.opts.AllowWildcardDeletes
	s.clusterSettings = map[string]map[string]any{"persistent": {}, "transient": {}}
	s.pits = map[string]*pit{}
}

// Requests returns the number of HTTP requests received, faulted ones
// included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// BulkRequests returns the number of _bulk requests that reached the bulk
// handler (not refused by a fault).
func (s *Server) BulkRequests() int64 { return s.bulkRequests.Load() }

// BulkItems returns the number of bulk items processed, failed ones
// included.
func (s *Server) BulkItems() int64 { return s.bulkItems.Load() }

// Searches returns the number of _search and _count requests handled.
func (s *Server) Searches() int64 { return s.searches.Load() }

// Indices returns the names of the existing indices, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.indices)
}

// Refresh refreshes every index, as POST /_refresh does.
func (s *Server) Refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ix := range s.indices {
		ix.refresh(s.opts.Clock())
	}
}

// call is one request being served.
type call struct {
	s      *Server
	r      *http.Request
	parts  []string // decoded path segments
	params url.Values
	body   []byte
}

func (c *call) param(k string) string { return c.params.Get(k) }

func (c *call) has(k string) bool { _, ok := c.params[k]; return ok }

// boolParam reads a boolean URL parameter; a bare "?k" is true.
func (c *call) boolParam(k string, def bool) bool {
	v, ok := c.params[k]
	if !ok {
		return def
	}
	switch strings.ToLower(v[0]) {
	case "", "true":
		return true
	case "false":
		return false
	}
	return def
}

// reply is a handler's answer.
type reply struct {
	status int
	body   any    // marshalled as JSON when raw is nil
	raw    []byte // pre-encoded JSON
	// warnings are deprecation warnings, sent as Warning headers.
	warnings []string
}

func ok(v any) reply { return reply{status: http.StatusOK, body: v} }

func fail(e *esError) reply { return reply{status: e.status, body: e.body()} }

// ServeHTTP serves the Elasticsearch REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if !s.faults.MissingProductHeader() {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	if s.faults.apply(w, r) {
		return
	}
	c, rep := s.newCall(r)
	if rep == nil {
		h, allowed := route(r.Method, c.parts)
		switch {
		case h != nil:
			s.mu.Lock()
			s.maintain()
			x := h(c)
			s.mu.Unlock()
			rep = &x
		case len(allowed) > 0:
			x := reply{status: http.StatusMethodNotAllowed, body: map[string]any{
				"error":  "Incorrect HTTP method for uri [" + r.URL.RequestURI() + "] and method [" + r.Method + "], allowed: [" + strings.Join(allowed, ", ") + "]",
				"status": http.StatusMethodNotAllowed}}
			rep = &x
		default:
			x := reply{status: http.StatusBadRequest, body: map[string]any{
				"error":  "no handler found for uri [" + r.URL.RequestURI() + "] and method [" + r.Method + "]",
				"status": http.StatusBadRequest}}
			rep = &x
		}
	}
	for _, text := range rep.warnings {
		w.Header().Add("Warning", `299 Elasticsearch-`+Version+`-estest "`+text+`"`)
	}
	if rep.raw != nil {
		writeRaw(w, r, rep.status, rep.raw)
		return
	}
	writeJSON(w, r, rep.status, rep.body)
}

// newCall decodes the path, query and body. It returns a reply when the
// request is refused before routing.
func (s *Server) newCall(r *http.Request) (*call, *reply) {
	c := &call{s: s, r: r, params: r.URL.Query()}
	for _, seg := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		if seg == "" {
			continue
		}
		d, err := url.PathUnescape(seg)
		if err != nil {
			d = seg
		}
		c.parts = append(c.parts, d)
	}
	var rd io.Reader = r.Body
	if r.Body == nil {
		rd = http.NoBody
	}
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			x := fail(badRequest("parse_exception", "failed to decompress the request body: %v", err))
			return c, &x
		}
		defer zr.Close()
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		x := fail(badRequest("parse_exception", "failed to read the request body: %v", err))
		return c, &x
	}
	c.body = b
	if len(bytes.TrimSpace(b)) > 0 && !s.opts.LenientContentType {
		ct := r.Header.Get("Content-Type")
		if !supportedContentType(ct) {
			msg := "Content-Type header [" + ct + "] is not supported"
			if ct == "" {
				msg = "Content-Type header is missing"
			}
			x := reply{status: http.StatusNotAcceptable, body: map[string]any{"error": msg, "status": http.StatusNotAcceptable}}
			return c, &x
		}
	}
	return c, nil
}

// supportedContentType reports whether ct is one of the JSON or NDJSON
// media types ES 8 accepts, compatible-with=8 variants included.
func supportedContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/x-ndjson":
		return true
	case "application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson":
		v := params["compatible-with"]
		return v == "8" || v == "7"
	}
	return false
}

// maintain runs the clock-driven work: periodic refreshes, tombstone and
// point-in-time expiry. Called with s.mu held.
func (s *Server) maintain() {
	now := s.opts.Clock()
	for _, ix := range s.indices {
		if iv := ix.refreshInterval(); iv > 0 && now.Sub(ix.lastRefresh) >= iv {
			ix.refresh(now)
		}
		ix.gcTombstones(now)
	}
	for id, p := range s.pits {
		if now.After(p.expires) {
			delete(s.pits, id)
		}
	}
}
