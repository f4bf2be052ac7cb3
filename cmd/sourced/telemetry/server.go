package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of the Server's timeouts and limits.
const (
	DefaultDrainTimeout      = 10 * time.Second
	DefaultCheckTimeout      = 2 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConns          = 10000
)

// Server is the HTTP endpoint every role serves on --http (default
// 127.0.0.1:8080): /metrics (Prometheus, from the one registry passed in),
// /healthz (200 while the process runs), /readyz (200 only when every
// readiness check passes, else 503 with a JSON body naming failing
// checks), /goka/ (goka's web monitor, once mounted with HandleGoka), plus
// whatever routes other code mounts with Handle.
//
// Set the exported fields before Run.
type Server struct {
	// DrainTimeout bounds how long Run waits for in-flight requests after
	// its context is done before closing their connections.
	// Default: DefaultDrainTimeout.
	DrainTimeout time.Duration
	// CheckTimeout bounds each readiness check of a /readyz request.
	// Default: DefaultCheckTimeout.
	CheckTimeout time.Duration

	// ReadHeaderTimeout bounds the reading of a request's line and
	// headers, from the connection's first byte (or the end of the
	// previous request); a client that sends nothing, or trickles its
	// headers, is disconnected. Default: DefaultReadHeaderTimeout (10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, body included:
	// a handler reading a body that trickles in past it gets an error
	// wrapping os.ErrDeadlineExceeded. Answers are not bounded by it (a
	// handler may wait for a result, or stream a rebuild's progress).
	// Default: DefaultReadTimeout (30s).
	ReadTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request. Default: DefaultIdleTimeout (60s).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and headers; larger ones are
	// answered 431. Default: DefaultMaxHeaderBytes (64 KiB).
	MaxHeaderBytes int
	// MaxConns bounds the open connections; further ones wait in the
	// listen backlog until one closes, so slow or abandoned clients hold
	// at most this many, each for at most the timeouts above.
	// sourced_http_open_connections shows how many are open.
	// Default: DefaultMaxConns (10,000); negative: no bound.
	MaxConns int

	addr   string
	reg    *prometheus.Registry
	logger *slog.Logger
	mux    *http.ServeMux

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	conns    prometheus.Gauge

	mu     sync.Mutex
	checks map[string]func(context.Context) error
	ln     net.Listener

	draining atomic.Bool
}

// NewServer returns a Server that will listen on addr and serve the
// metrics of reg, in which it registers its own HTTP metrics (reusing them
// when reg already has them, so several Servers may share a registry). A
// nil reg is replaced by a new empty registry, a nil logger by one that
// discards.
func NewServer(addr string, reg *prometheus.Registry, logger *slog.Logger) *Server {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		addr:   addr,
		reg:    reg,
		logger: logger,
		mux:    http.NewServeMux(),
		checks: map[string]func(context.Context) error{},
	}
	s.requests = registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sourced_http_requests_total",
		Help: "HTTP requests served, by route pattern, method and status code.",
	}, []string{"route", "method", "status"}))
	s.duration = registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sourced_http_request_duration_seconds",
		Help:    "Time to serve an HTTP request, by route pattern and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"}))
	s.conns = registerOrReuse(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sourced_http_open_connections",
		Help: "Open HTTP connections of the --http endpoint (bounded by --http-max-conns in processes serving the gateway).",
	}))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	return s
}

// registerOrReuse registers c in reg, or returns the equal collector reg
// already has.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("telemetry: register collector: %v", err))
	}
	return c
}

// Handle mounts h on pattern (net/http ServeMux syntax, e.g. "/v1/" or
// "POST /v1/{aggregate}/{id}/{command}"). It may be called while the
// Server runs. Requests to h are counted with the most specific pattern
// that matched, including one set by a ServeMux h itself uses. It panics
// when pattern conflicts with one already mounted, as ServeMux does.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// AddReadiness adds a check /readyz runs on every request; the process is
// ready only while every check returns nil within CheckTimeout. A check
// with the name of an existing one replaces it.
func (s *Server) AddReadiness(name string, check func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

// Listen binds the address given to NewServer (":0" picks a free port;
// Addr tells which). Run calls it when it was not called before.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen http on %s: %w", s.addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address after Listen, else the address given to
// NewServer.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// Run serves until ctx is done, then shuts down gracefully: /readyz
// answers 503 from then on, new connections are refused, and in-flight
// requests get DrainTimeout to finish before their connections are
// closed. It returns nil after a shutdown caused by ctx, and the error
// when listening or serving fails.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: orDefault(s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(s.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:       orDefault(s.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    orDefault(s.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newLimitListener(ln, orDefault(s.MaxConns, DefaultMaxConns), s.conns)) }()
	s.logger.Info("http serving", "addr", ln.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	drain := s.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.logger.Warn("http drain incomplete, closing connections", "addr", ln.Addr().String(), "err", err)
		_ = srv.Close()
	}
	<-served
	return nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Handler returns the Server's routes with the HTTP metrics middleware,
// for callers that serve it themselves (tests, httptest).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			method := methodLabel(r.Method)
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			s.requests.WithLabelValues(route, method, fmt.Sprint(status)).Inc()
			s.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		}()
		s.mux.ServeHTTP(rec, r)
	})
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes through to the underlying writer when it can flush.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if r.status == 0 {
			r.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Readiness is the JSON body of /readyz.
type Readiness struct {
	// Ready is true when every check passed.
	Ready bool `json:"ready"`
	// Checks maps every check's name to "ok" or its error.
	Checks map[string]string `json:"checks"`
}

// Ready runs every readiness check concurrently, each bounded by
// CheckTimeout, and reports the outcome.
func (s *Server) Ready(ctx context.Context) Readiness {
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	checks := make([]func(context.Context) error, len(names))
	for i, name := range names {
		checks[i] = s.checks[name]
	}
	s.mu.Unlock()
	timeout := s.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, check := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- check(cctx) }()
			select {
			case err := <-done:
				results[i] = err
			case <-cctx.Done():
				results[i] = fmt.Errorf("no answer within %s", timeout)
			}
		})
	}
	wg.Wait()
	out := Readiness{Ready: true, Checks: make(map[string]string, len(names)+1)}
	for i, name := range names {
		if results[i] != nil {
			out.Ready = false
			out.Checks[name] = results[i].Error()
		} else {
			out.Checks[name] = "ok"
		}
	}
	if s.draining.Load() {
		out.Ready = false
		out.Checks["shutdown"] = "draining"
	}
	return out
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	res := s.Ready(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !res.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(res)
}
