package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/cmd/sourced/gateway"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/reference"
)

// gatewayFlags are the gateway's own flags, shared by `run gateway` and
// `dev`.
type gatewayFlags struct {
	tokensFile *string
	resultWait *time.Duration
	readWait   *time.Duration
	maxBody    *int64
}

func addGatewayFlags(fs *flag.FlagSet) *gatewayFlags {
	return &gatewayFlags{
		tokensFile: fs.String("tokens-file", "", "bearer tokens of the HTTP API, one \"<token> read|write\" per line (empty: no auth)"),
		resultWait: fs.Duration("result-wait", gateway.DefaultResultWait, "longest a POST waits for its result before answering 202"),
		readWait:   fs.Duration("read-wait", gateway.DefaultReadWait, "longest a read with min_version waits before answering 504"),
		maxBody:    fs.Int64("max-body", gateway.DefaultMaxBody, "largest request body in bytes (413 above)"),
	}
}

// config fills the gateway settings the flags hold.
func (f *gatewayFlags) config(cfg *gateway.Config, logger *slog.Logger) error {
	cfg.ResultWait, cfg.ReadWait, cfg.MaxBody = *f.resultWait, *f.readWait, *f.maxBody
	if *f.tokensFile == "" {
		logger.Warn("gateway: no --tokens-file: the HTTP API accepts every request")
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

// runGateway implements `run gateway`: the HTTP API next to /metrics,
// /healthz and /readyz on --http.
func runGateway(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("run gateway")
	kf := addKafkaFlags(fs)
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of the HTTP API, metrics and health")
	dataDir := fs.String("data-dir", ".sourced", "data directory; the table views live in <data-dir>/gateway")
	es := addESFlags(fs)
	gf := addGatewayFlags(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	conn, cl, sc, err := kf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, def := range aggregates() {
		if err := checkTopicsWaiting(ctx, conn, cl, codecs.NewTopics("", def.Name()), logger); err != nil {
			return fmt.Errorf("gateway refuses to start: %w", err)
		}
	}
	kopts, err := conn.KgoOpts()
	if err != nil {
		return err
	}
	var store views.Store
	where := "none (view routes answer 503; give --es-url)"
	if *es.url != "" {
		if store, where, err = es.open(ctx, logger); err != nil {
			return err
		}
		defer store.Close()
	}
	cfg := gateway.Config{
		Aggregates: aggregates(), Views: reference.All(), Store: store,
		Kafka: kopts, Brokers: conn.Brokers, Sarama: sc,
		StoreDir:  filepath.Join(*dataDir, "gateway"),
		Changelog: processors.Changelog(cl, 10*time.Second),
		Logger:    logger.With("role", "gateway"),
	}
	if err := gf.config(&cfg, logger); err != nil {
		return err
	}
	reg := gatewayRegistry()
	srv := telemetry.NewServer(*httpAddr, reg, logger)
	cfg.Registerer = reg
	gw, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	srv.Handle("/v1/", gw.Handler())
	srv.AddReadiness("gateway", gw.Ready)
	if err := srv.Listen(); err != nil {
		return err
	}
	logger.Info("running", "role", "gateway", "http", srv.Addr(), "views", where, "kafka", conn.String())
	fmt.Fprintf(stdout, "gateway  http://%s/v1/ (views: %s)\n", srv.Addr(), where)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return gw.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("gateway: %w", err)
	}
	logger.Info("stopped cleanly", "role", "gateway")
	return nil
}

// gatewayRegistry is the metrics registry of `run gateway`: the Go and
// process collectors; the gateway and the server add theirs.
func gatewayRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
