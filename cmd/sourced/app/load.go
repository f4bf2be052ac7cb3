package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/cmd/sourced/load"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// defaultGateway is where --via gateway sends when --gateway is not given.
const defaultGateway = "http://127.0.0.1:8080"

// runLoad generates traffic for one aggregate and prints a summary.
func (ct Catalog) runLoad(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("load")
	kf := addKafkaFlags(fs)
	aggregate := fs.String("aggregate", "invoice", "aggregate to load: invoice or profile")
	rate := fs.Float64("rate", 100, "target commands per second (open loop)")
	duration := fs.Duration("duration", 30*time.Second, "how long to send (Ctrl-C ends early with the summary so far)")
	n := fs.Int("aggregates", 1000, "aggregates in play; each has at most one command in flight")
	via := fs.String("via", "gateway", "gateway (HTTP API) or kafka (produce to the commands topic)")
	gatewayURL := fs.String("gateway", "", "gateway base URL (default "+defaultGateway+" with --via gateway; with --via kafka it serves only the view-visibility checks)")
	token := fs.String("token", "", "bearer token for the gateway")
	seed := fs.Uint64("seed", 1, "seed of the command sequences")
	invalid := fs.Float64("invalid", 0.01, "probability of a deliberately invalid command at each point one fits")
	viewSample := fs.Int("view-sample", 10, "check view visibility for 1 in N accepted commands that recorded events (0: never)")
	drain := fs.Duration("drain", load.DefaultDrain, "how long to wait for outstanding results after sending stops")
	timeout := fs.Duration("timeout", load.DefaultCommandTimeout, "how long to wait for one result")
	idPrefix := fs.String("id-prefix", "", "prefix of aggregate and command ids (default: load<seed>-<start time>, so runs do not collide)")
	jsonOut := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	// The generators are written for the reference aggregates' commands
	// and rules (and check the invoice-search view): another catalog's
	// aggregates have none.
	if _, err := ct.findAggregate(*aggregate); err != nil || (*aggregate != "invoice" && *aggregate != "profile") {
		msg := fmt.Sprintf("load: --aggregate %q: load generates commands only for the reference aggregates invoice and profile", *aggregate)
		if err != nil {
			msg += "; " + err.Error()
		}
		return usageError{errors.New(msg)}
	}
	if *via != "gateway" && *via != "kafka" {
		return usageError{fmt.Errorf("load: --via %q: want gateway or kafka", *via)}
	}
	if *idPrefix == "" {
		*idPrefix = fmt.Sprintf("load%d-%s", *seed, strconv.FormatInt(time.Now().Unix(), 36))
	}
	sc, err := load.NewScenario(*aggregate, load.ScenarioConfig{Prefix: *idPrefix, Aggregates: *n, Invalid: *invalid, Seed: *seed})
	if err != nil {
		return usageError{err}
	}
	cfg := load.Config{
		Scenario: sc, Via: *via, ViewSample: *viewSample, Rate: *rate, Duration: *duration,
		Drain: *drain, CommandTimeout: *timeout, Seed: *seed,
		Progress: stderr, ProgressTTY: isTerminal(stderr), Logger: logger,
	}
	if *viewSample <= 0 {
		cfg.ViewSample, cfg.ViewNote = -1, "not measured (--view-sample 0)"
	}
	if !(*rate > 0) || *duration <= 0 {
		return usageError{errors.New("load: --rate and --duration must be > 0")}
	}

	if *via == "gateway" && *gatewayURL == "" {
		*gatewayURL = defaultGateway
	}
	var gw *load.Gateway
	if *gatewayURL != "" {
		if gw, err = load.NewGateway(*gatewayURL, *token); err != nil {
			return usageError{fmt.Errorf("load: %w", err)}
		}
		defer gw.Close()
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := gw.Ping(pctx)
		cancel()
		switch {
		case err != nil && *via == "gateway":
			return fmt.Errorf("load: %w", err)
		case err != nil:
			cfg.ViewNote = fmt.Sprintf("not measured: %v", err)
			gw = nil
		}
	}
	if gw != nil && cfg.ViewSample > 0 {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		if err := gw.CheckView(pctx, sc.View()); err != nil {
			cfg.ViewNote = fmt.Sprintf("not measured: %v", err)
		} else {
			cfg.Viewer = gw
		}
		cancel()
	} else if cfg.ViewNote == "" {
		cfg.ViewNote = "not measured: no gateway (give --gateway URL to measure it in kafka mode)"
	}

	var summary *load.Summary
	if *via == "gateway" {
		cfg.Sender = gw
		if summary, err = load.Run(ctx, cfg); err != nil {
			return err
		}
	} else {
		_, cl, _, err := kf.connect(ctx, kgo.RecordPartitioner(kafka.Partitioner()), kgo.ProducerLinger(time.Millisecond))
		if err != nil {
			return err
		}
		defer cl.Close()
		k, err := load.NewKafka(ctx, cl, kf.topics(sc.Aggregate()))
		if err != nil {
			return fmt.Errorf("load: %w (do the topics exist? run `sourced dev` or `sourced topics ensure`)", err)
		}
		readCtx, stopReading := context.WithCancel(context.WithoutCancel(ctx))
		readDone := make(chan error, 1)
		go func() { readDone <- k.Run(readCtx) }()
		cfg.Sender = k
		summary, err = load.Run(ctx, cfg)
		stopReading()
		if rerr := <-readDone; err == nil && rerr != nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	if *jsonOut {
		b, err := json.MarshalIndent(summary, "", "  ")
		if err != nil {
			return fmt.Errorf("load: encode summary: %w", err)
		}
		_, err = fmt.Fprintln(stdout, string(b))
		if err != nil {
			return fmt.Errorf("load: write summary: %w", err)
		}
	} else if err := summary.WriteText(stdout); err != nil {
		return fmt.Errorf("load: write summary: %w", err)
	}
	if summary.Sent > 0 && summary.Accepted == 0 {
		return errors.New("load: no command was accepted")
	}
	return nil
}

// isTerminal reports whether w is a terminal (for a redrawn progress line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
