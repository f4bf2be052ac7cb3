package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
)

// Gateway is the HTTP API of sourced: it turns POSTs into commands on
// Kafka and answers with their results, and serves snapshots from goka
// Views of the tables and documents from the view store. Build it with
// New, mount Handler, and call Run once. Its methods are safe for
// concurrent use.
type Gateway struct {
	cfg      Config
	catalog  catalog
	aggs     map[string]*aggregate
	views    map[string]*viewRoute
	producer *kgo.Client
	results  *results
	metrics  *Metrics
	handler  http.Handler

	// active counts /v1/ requests being served, so Run can let them finish
	// before it stops reading results.
	active atomic.Int64
	// stopping is set once Run's context is done: new requests get 503.
	stopping atomic.Bool
	// limiter bounds the commands being handled (Config.MaxInFlight,
	// Config.TargetLatency).
	limiter *limiter

	rebuildMu      sync.Mutex
	rebuildRunning map[string]bool // views being rebuilt; guarded by rebuildMu
}

// aggregate is the serving state of one aggregate.
type aggregate struct {
	def    processors.Definition
	topics codecs.Topics
	// view is the goka View of the table, nil until Run built it.
	view atomic.Pointer[goka.View]
	// lag is the processors' lag on the commands topic as Config.CommandLag
	// last reported it; -1 while not known.
	lag atomic.Int64
}

// viewRoute is one view served under /v1/views/.
type viewRoute struct {
	view *views.View
	// tiebreak are the sort fields appended to every search, unique
	// together per document.
	tiebreak []string
}

// New checks the configuration and builds a gateway. It does not contact
// Kafka: Run does, and closes the Kafka clients when it returns.
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sc := *cfg.Sarama
	if err := cfg.Kafka.Apply(&sc); err != nil {
		return nil, fmt.Errorf("gateway: kafka connection: %w", err)
	}
	cfg.Sarama = &sc
	metrics, err := NewMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:     cfg,
		catalog: newCatalog(cfg.Aggregates),
		aggs:    map[string]*aggregate{},
		views:   map[string]*viewRoute{},
		metrics: metrics,
		limiter: newLimiter(int64(cfg.MaxInFlight), cfg.TargetLatency),

		rebuildRunning: map[string]bool{},
	}
	for _, d := range cfg.Aggregates {
		a := &aggregate{def: d, topics: codecs.NewTopics(cfg.Prefix, d.Name())}
		a.lag.Store(-1)
		g.aggs[d.Name()] = a
	}
	metrics.limit.Set(float64(max(cfg.MaxInFlight, 0)))
	for _, v := range cfg.Views {
		tb, _ := tiebreaker(v) // checked by Validate
		g.views[v.Name] = &viewRoute{view: v, tiebreak: tb}
	}
	g.producer, err = cfg.Kafka.NewClient(
		kgo.RecordPartitioner(kafka.Partitioner()),
		// A request waits for its produce: linger only as long as it
		// takes concurrent requests to join a batch.
		kgo.ProducerLinger(time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("gateway: producer client: %w", err)
	}
	g.results = newResults(cfg.RecentResults, metrics, cfg.Logger)
	g.handler = g.routes()
	return g, nil
}

// Handler returns the HTTP handler of the /v1/ routes. Routes are
// registered with ServeMux patterns, so r.Pattern names the route for
// metrics. Every error is a JSON {code, message}.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Run reads the results topics and runs a goka View of every table until
// ctx is done; then it lets requests in flight finish (at most
// Config.DrainTimeout) before it stops reading, so a request accepted
// before shutdown still gets its result. A View that fails is rebuilt
// after a backoff (its stores left dirty, so restored from the table), and
// the results readers wait for unreachable brokers, so Run needs no
// supervisor. Run returns nil after a clean stop; it must be called once.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.producer.Close()
	// The readers outlive ctx by the drain.
	readCtx, stopReading := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReading()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		select {
		case <-ctx.Done():
		case <-readCtx.Done():
			return
		}
		g.stopping.Store(true)
		g.drain()
		stopReading()
	}()

	eg, egctx := errgroup.WithContext(readCtx)
	topics := map[string]string{}
	for name, a := range g.aggs {
		topics[a.topics.Results] = name
	}
	eg.Go(func() error { return g.results.run(egctx, g.cfg.Kafka, topics) })
	for _, a := range g.aggs {
		eg.Go(func() error { return g.runTable(egctx, a) })
	}
	if g.cfg.CommandLag != nil {
		eg.Go(func() error { g.watchLag(egctx); return nil })
	}
	if g.limiter.adaptive() {
		eg.Go(func() error { g.adaptInFlight(egctx); return nil })
	}
	err := eg.Wait()
	stopReading()
	<-drained
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// drain waits until no /v1/ request is in flight, or DrainTimeout.
func (g *Gateway) drain() {
	deadline := time.Now().Add(g.cfg.DrainTimeout)
	for g.active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := g.active.Load(); n > 0 {
		g.cfg.Logger.Warn("gateway: stopping with requests still in flight", "requests", n)
	}
}

// Ready reports nil once every results reader is positioned at the end of
// its topic and every table View has recovered; otherwise an error naming
// what is not ready. It is the gateway's /readyz check.
func (g *Gateway) Ready(context.Context) error {
	var errs []error
	if !g.results.positioned.Load() {
		errs = append(errs, errors.New("results readers not positioned"))
	}
	names := make([]string, 0, len(g.aggs))
	for name := range g.aggs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if v := g.aggs[name].view.Load(); v == nil || !v.Recovered() {
			errs = append(errs, fmt.Errorf("table %s recovering", g.aggs[name].topics.Table))
		}
	}
	return errors.Join(errs...)
}

// apiError is an error answer: an HTTP status and a JSON {code, message}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sourced"`)
	}
	if e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, e)
}

// routes builds the handler: the ServeMux of the routes, behind request
// accounting, authentication and JSON answers for unknown routes.
func (g *Gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{aggregate}/{id}/{command}", g.postCommand)
	mux.HandleFunc("GET /v1/{aggregate}/{id}", g.getAggregate)
	mux.HandleFunc("GET /v1/{aggregate}/{id}/commands/{command_id}", g.getCommand)
	mux.HandleFunc("GET /v1/views/{view}/{id}", g.getViewDoc)
	mux.HandleFunc("GET /v1/views/{view}", g.searchView)
	mux.HandleFunc("POST /v1/admin/views/{view}/rebuild", g.rebuildView)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.active.Add(1)
		defer g.active.Add(-1)
		if g.stopping.Load() {
			writeError(w, errorf(http.StatusServiceUnavailable, "shutting_down", "the gateway is shutting down"))
			return
		}
		if e := g.authorize(r); e != nil {
			writeError(w, e)
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, unmatched(w, mux, r))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// unmatched answers a request no route matched: 405 when the path exists
// with another method, 404 otherwise.
func unmatched(w http.ResponseWriter, mux *http.ServeMux, r *http.Request) *apiError {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if m == r.Method {
			continue
		}
		alt := r.Clone(r.Context())
		alt.Method = m
		if _, p := mux.Handler(alt); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: fmt.Sprintf("%s %s: allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", "))}
	}
	return errorf(http.StatusNotFound, "no_route", "no route for %s %s", r.Method, r.URL.Path)
}
