package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/cmd/sourced/gateway"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
)

// gatewayFlags are the gateway's own flags, shared by `run gateway` and
// `dev`.
type gatewayFlags struct {
	tokensFile *string
	resultWait *time.Duration
	readWait   *time.Duration
	maxBody    *int64

	maxInFlight   *int
	maxCommandLag *int64
	lagInterval   *time.Duration

	readHeaderTimeout *time.Duration
	readTimeout       *time.Duration
	idleTimeout       *time.Duration
	maxHeaderBytes    *int
	maxConns          *int
	targetLatency     *time.Duration
}

// defaultGatewayLagInterval is how often a process serving the gateway
// polls the consumer lag: the gateway sheds on it, so it is polled more
// often than lagInterval.
const defaultGatewayLagInterval = 2 * time.Second

func addGatewayFlags(fs *flag.FlagSet) *gatewayFlags {
	return &gatewayFlags{
		tokensFile: fs.String("tokens-file", "", "bearer tokens of the HTTP API, one \"<token> read|write|admin\" per line; admin may also rebuild views (empty: no auth)"),
		resultWait: fs.Duration("result-wait", gateway.DefaultResultWait, "longest a POST waits for its result before answering 202"),
		readWait:   fs.Duration("read-wait", gateway.DefaultReadWait, "longest a read with min_version waits before answering 504"),
		maxBody:    fs.Int64("max-body", gateway.DefaultMaxBody, "largest request body in bytes (413 above)"),

		maxInFlight: fs.Int("max-in-flight", gateway.DefaultMaxInFlight,
			"commands this replica handles at once; beyond, 429 overloaded with Retry-After, before anything is produced (0: no bound)"),
		targetLatency: fs.Duration("target-latency", gateway.DefaultTargetLatency,
			"answer time the in-flight bound adapts to: between --max-in-flight/16 and --max-in-flight, it shrinks while more than 1 in 10 commands takes longer and grows back while the bound is reached (0: the bound stays --max-in-flight)"),
		maxCommandLag: fs.Int64("max-command-lag", gateway.DefaultMaxCommandLag,
			"commands an aggregate's processors may be behind (consumer lag on its commands topic); beyond, its commands get 503 processors_behind with Retry-After (0: no bound)"),
		lagInterval: fs.Duration("lag-interval", defaultGatewayLagInterval,
			"how often the processors' consumer lag is polled, for --max-command-lag and sourced_consumer_lag"),

		readHeaderTimeout: fs.Duration("http-read-header-timeout", telemetry.DefaultReadHeaderTimeout, "longest a client may take to send a request's headers"),
		readTimeout:       fs.Duration("http-read-timeout", telemetry.DefaultReadTimeout, "longest a client may take to send a whole request, body included (408 request_timeout)"),
		idleTimeout:       fs.Duration("http-idle-timeout", telemetry.DefaultIdleTimeout, "longest a keep-alive connection waits for its next request"),
		maxHeaderBytes:    fs.Int("http-max-header-bytes", telemetry.DefaultMaxHeaderBytes, "largest request line and headers in bytes (431 above)"),
		maxConns:          fs.Int("http-max-conns", telemetry.DefaultMaxConns, "most HTTP connections open at once; further ones wait to be accepted (0: no bound)"),
	}
}

// serve applies the limits of the HTTP endpoint and the lag polling to o,
// and has cfg shed on the lag o polls (sourced_consumer_lag of each
// aggregate's processor group on its commands topic, summed).
func (f *gatewayFlags) serve(o *ops, cfg *gateway.Config) {
	o.srv.ReadHeaderTimeout, o.srv.ReadTimeout, o.srv.IdleTimeout = *f.readHeaderTimeout, *f.readTimeout, *f.idleTimeout
	o.srv.MaxHeaderBytes, o.srv.MaxConns = *f.maxHeaderBytes, *f.maxConns
	if *f.maxConns == 0 {
		o.srv.MaxConns = -1
	}
	o.lagEvery = *f.lagInterval
	cfg.CommandLag = o.commandLag(cfg.Prefix)
}

// config fills the gateway settings the flags hold, reading the tokens
// file. Without one, warn says whether to log that the API is open.
func (f *gatewayFlags) config(cfg *gateway.Config, logger *slog.Logger, warn bool) error {
	cfg.ResultWait, cfg.ReadWait, cfg.MaxBody = *f.resultWait, *f.readWait, *f.maxBody
	cfg.MaxInFlight, cfg.MaxCommandLag = *f.maxInFlight, *f.maxCommandLag
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = -1
	}
	if cfg.TargetLatency = *f.targetLatency; cfg.TargetLatency == 0 {
		cfg.TargetLatency = -1
	}
	if cfg.MaxCommandLag == 0 {
		cfg.MaxCommandLag = -1
	}
	if *f.lagInterval <= 0 {
		return usageError{fmt.Errorf("--lag-interval %v: want > 0", *f.lagInterval)}
	}
	if *f.tokensFile == "" {
		if warn {
			logger.Warn("gateway: no --tokens-file: the HTTP API accepts every request")
		}
		return nil
	}
	file, err := os.Open(*f.tokensFile)
	if err != nil {
		return usageError{fmt.Errorf("tokens file: %w", err)}
	}
	defer file.Close()
	tokens, err := gateway.ParseTokens(file)
	if err != nil {
		return usageError{fmt.Errorf("tokens file %s: %w", *f.tokensFile, err)}
	}
	cfg.Tokens = tokens
	return nil
}

// runGateway implements `run gateway`: the HTTP API on --http, next to
// /metrics, /healthz and /readyz (ready once the results are read from
// their end and the tables are recovered).
func (ct Catalog) runGateway(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("run gateway")
	kf := addKafkaFlags(fs)
	httpAddr := addHTTPFlag(fs, defaultHTTP)
	pprofOn := addPprofFlag(fs)
	dataDir := fs.String("data-dir", ".sourced", "data directory; the table views live in <data-dir>/gateway")
	es := addESFlags(fs)
	gf := addGatewayFlags(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *httpAddr == "" || *httpAddr == "off" {
		return usageError{fmt.Errorf("run gateway: --http %q: the gateway needs an address", *httpAddr)}
	}
	conn, cl, sc, err := kf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	cfg := gateway.Config{
		Aggregates: ct.Aggregates, Views: ct.Views,
		Kafka: conn, Sarama: sc, Prefix: *kf.prefix,
		StoreDir:  filepath.Join(*dataDir, "gateway"),
		Changelog: processors.Changelog(cl, 10*time.Second),
		Logger:    logger.With("role", "gateway"),
	}
	if err := gf.config(&cfg, logger, true); err != nil {
		return err
	}
	where := "none (the view routes answer 503; give --es-url)"
	if *es.url != "" {
		var store views.Store
		if store, where, err = es.open(ctx, logger, *kf.prefix); err != nil {
			return err
		}
		defer store.Close()
		cfg.Store = store
	}
	o, err := newOps(*httpAddr, ct.Aggregates, logger)
	if err != nil {
		return err
	}
	o.servePprof(*pprofOn)
	if cfg.Store != nil {
		o.watchStore(func() views.Store { return cfg.Store })
	}
	cfg.Registerer = o.reg
	cfg.RebuildProgress = o.metrics.Views.RebuildProgress
	cfg.StoreBlockCache = o.blockCache
	gf.serve(o, &cfg)
	for _, def := range ct.Aggregates {
		o.watchLag(kf.topics(def.Name()).Group) // for --max-command-lag
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	o.srv.Handle("/v1/", gw.Handler())
	o.srv.AddReadiness("gateway", gw.Ready)
	logger.Info("running", "role", "gateway", "http", o.srv.Addr(), "views", where, "kafka", conn.String())
	fmt.Fprintf(stdout, "gateway  http://%s/v1/ (views: %s)\n", o.srv.Addr(), where)
	err = o.serve(ctx, cl, func(ctx context.Context) error {
		for _, def := range ct.Aggregates {
			if err := checkTopicsWaiting(ctx, conn, cl, kf.topics(def.Name()), logger); err != nil {
				return fmt.Errorf("gateway refuses to start: %w", err)
			}
		}
		return gw.Run(ctx)
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	logger.Info("stopped cleanly", "role", "gateway")
	return nil
}

// newDevGateway builds the gateway of `dev` on its HTTP endpoint, sharing
// the view store.
func (ct Catalog) newDevGateway(conn kafka.Connection, sc *sarama.Config, prefix, dataDir string, store views.Store, cl *kgo.Client, gf *gatewayFlags, o *ops, logger *slog.Logger) (*gateway.Gateway, error) {
	cfg := gateway.Config{
		Aggregates: ct.Aggregates, Views: ct.Views, Store: store,
		Kafka: conn, Sarama: sc, Prefix: prefix,
		StoreDir:        filepath.Join(dataDir, "gateway"),
		StoreBlockCache: o.blockCache, StoreWriteBuffer: devWriteBuffer,
		Changelog:       processors.Changelog(cl, 10*time.Second),
		Registerer:      o.reg,
		RebuildProgress: o.metrics.Views.RebuildProgress,
		Logger:          logger.With("role", "gateway"),
	}
	if err := gf.config(&cfg, logger, false); err != nil {
		return nil, err
	}
	gf.serve(o, &cfg) // dev already polls the processor groups' lag
	gw, err := gateway.New(cfg)
	if err != nil {
		return nil, err
	}
	o.srv.Handle("/v1/", gw.Handler())
	o.srv.AddReadiness("gateway", gw.Ready)
	return gw, nil
}

// printCurlLines prints requests to try against the gateway at addr: an
// invoice's for the reference catalog, and for another catalog its first
// aggregate's routes with its commands named (their JSON is the catalog's
// own) and its first view's search.
func (ct Catalog) printCurlLines(w io.Writer, addr string, auth bool) {
	h := ""
	if auth {
		h = ` -H "Authorization: Bearer $TOKEN"`
	}
	if _, err := ct.findView("invoice-search"); err == nil {
		fmt.Fprintf(w, "try:\n"+
			"  curl -s -X POST http://%[1]s/v1/invoice/inv-1/CreateInvoice%[2]s -H 'Content-Type: application/json' -d '{\"customer\":\"acme\",\"currency\":\"EUR\",\"due_date\":\"2026-12-31\"}'\n"+
			"  curl -s%[2]s 'http://%[1]s/v1/invoice/inv-1?min_version=1'\n"+
			"  curl -s%[2]s 'http://%[1]s/v1/views/invoice-search?q=acme'\n", addr, h)
		return
	}
	a := ct.Aggregates[0]
	fmt.Fprintf(w, "try (commands of %[3]s: %[4]s):\n"+
		"  curl -s -X POST http://%[1]s/v1/%[3]s/ID/COMMAND%[2]s -H 'Content-Type: application/json' -d 'JSON'\n"+
		"  curl -s%[2]s 'http://%[1]s/v1/%[3]s/ID?min_version=1'\n", addr, h, a.Name(), strings.Join(a.CommandTypes(), ", "))
	if len(ct.Views) > 0 {
		fmt.Fprintf(w, "  curl -s%[2]s 'http://%[1]s/v1/views/%[3]s?q=TEXT'\n", addr, h, ct.Views[0].Name)
	}
}

// rebuildViaGateway asks the gateway at base (the process that owns the
// view store, e.g. dev on its --http) to rebuild view, and prints its
// NDJSON progress as a local rebuild does.
func rebuildViaGateway(ctx context.Context, base, token, view string, keepOld bool, stdout io.Writer) error {
	u := strings.TrimRight(base, "/") + "/v1/admin/views/" + url.PathEscape(view) + "/rebuild"
	if keepOld {
		u += "?keep_old=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return usageError{fmt.Errorf("view rebuild: --gateway %q: %w", base, err)}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return usageError{fmt.Errorf("view rebuild: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("view rebuild through %s: %s: %s", base, resp.Status, bytes.TrimSpace(b))
	}
	fmt.Fprintf(stdout, "rebuilding %s through the gateway at %s\n", view, base)
	dec := json.NewDecoder(resp.Body)
	for {
		var l gateway.RebuildLine
		if err := dec.Decode(&l); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("rebuild %s: the gateway ended the stream without a result", view)
			}
			return fmt.Errorf("rebuild %s: read progress: %w", view, err)
		}
		switch l.Phase {
		case "error":
			msg := "unknown error"
			if l.Error != nil {
				msg = l.Error.Message
			}
			return fmt.Errorf("rebuild %s: %s", view, msg)
		case "done":
			fmt.Fprintf(stdout, "%s now serves generation %d (%s); removed %s; %d records, %d writes, %d dead letters\n",
				view, l.Generation, strings.Join(l.Indices, ", "), strings.Join(l.Removed, ", "), l.Records, l.Writes, l.DeadLetter)
			return nil
		}
		var parts []string
		for _, pp := range l.Partitions {
			parts = append(parts, fmt.Sprintf("%d:%d/%d", pp.Partition, pp.Next, pp.End))
		}
		fmt.Fprintf(stdout, "%-8s generation %d  %d records  %.0f/s  eta %s  [%s]\n",
			l.Phase, l.Generation, l.Records, l.Rate, (time.Duration(l.ETASeconds * float64(time.Second))).Round(time.Second), strings.Join(parts, " "))
	}
}
