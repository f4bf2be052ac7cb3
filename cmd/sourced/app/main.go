// Package app is the whole sourced command line for a catalog of
// aggregates and views: the embedded broker, the command processors, event
// publishers and view projectors of every aggregate and view in the
// catalog, the HTTP gateway, and the tools to inspect their state. A binary
// of one's own is
//
//	func main() {
//		os.Exit(app.Main(app.Catalog{
//			Aggregates: []processors.Definition{account.New()},
//			Views:      []*views.View{account.Balances()},
//		}))
//	}
//
// and takes every command below (cmd/sourced is that binary for the
// reference aggregates invoice and profile).
//
// Usage:
//
//	sourced dev [--data-dir D] [--listen ADDR | --brokers B] [--prefix P] [--partitions N] [--http ADDR] [--es-url U]
//	sourced broker [--data-dir D] [--listen ADDR]
//	sourced topics ensure [--brokers B] [--partitions N] [--replication R] [--no-compaction]
//	sourced run processor|publisher --aggregate NAME [--brokers B] [--data-dir D] [--standby] [--http ADDR]
//	sourced run view --view NAME [--brokers B] [--es-url U] [--http ADDR]
//	sourced run gateway [--brokers B] [--http ADDR] [--es-url U] [--tokens-file F] [--result-wait 5s] [--read-wait 5s]
//	sourced send AGGREGATE ID COMMAND ['JSON'] [--brokers B] [--command-id K] [--expected-version V] [--timeout 5s] [--no-wait]
//	sourced state dump [--data-dir D] [--topic T]
//	sourced load --aggregate invoice|profile --rate R --duration D --aggregates N [--via gateway|kafka] [--json]
//	sourced version
//	sourced probe URL [--timeout 3s]
//
// Every flag also reads an environment variable: --data-dir from
// SOURCED_DATA_DIR, --listen from SOURCED_LISTEN, and so on. Every command
// that talks to Kafka takes --prefix (SOURCED_PREFIX): its topic and group
// names become <prefix>-invoice-commands and so on, for deployments or
// tests sharing a cluster. dev with --brokers (SOURCED_BROKERS) runs no
// broker: it creates its topics on those brokers (table topics compacted,
// as `topics ensure` does) and runs every role against them.
// SOURCED_LOG_LEVEL (debug, info, warn, error) sets the log level; debug
// includes goka's own messages.
//
// Long-running commands serve /metrics, /healthz, /readyz and goka's
// monitor on /goka/ at --http (SOURCED_HTTP, default 127.0.0.1:8080;
// "off" disables it).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/views"
)

// Catalog is what a binary runs: its aggregates and the views over them.
type Catalog struct {
	// Aggregates are the aggregates every command knows, by name.
	Aggregates []processors.Definition
	// Views are the views projected from them (each view's Aggregate is
	// one of Aggregates).
	Views []*views.View
	// Version is what `version` prints, usually stamped at build time
	// with -ldflags "-X main.version=1.2.3". Default: the VCS revision
	// the Go toolchain recorded, else "dev".
	Version string
}

// Main runs the command named by os.Args with the environment, writing to
// os.Stdout and os.Stderr, until it ends or SIGINT or SIGTERM stops it,
// and returns the exit code: 0 success, 1 failure, 4 usage or connection
// error (send and the tools also have codes of their own).
func Main(c Catalog) int {
	return c.run(os.Args[1:], os.Stdout, os.Stderr)
}

// check reports a catalog that cannot run: no aggregates, two of one
// name, or a view over an aggregate it does not hold.
func (ct Catalog) check() error {
	var errs []error
	if len(ct.Aggregates) == 0 {
		errs = append(errs, errors.New("no aggregates"))
	}
	seen := map[string]bool{}
	for _, def := range ct.Aggregates {
		if seen[def.Name()] {
			errs = append(errs, fmt.Errorf("aggregate %q twice", def.Name()))
		}
		seen[def.Name()] = true
	}
	views := map[string]bool{}
	for _, v := range ct.Views {
		if !seen[v.Aggregate] {
			errs = append(errs, fmt.Errorf("view %q: unknown aggregate %q", v.Name, v.Aggregate))
		}
		if views[v.Name] {
			errs = append(errs, fmt.Errorf("view %q twice", v.Name))
		}
		views[v.Name] = true
	}
	return errors.Join(errs...)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 4
)

func (ct Catalog) run(args []string, stdout, stderr io.Writer) int {
	if err := ct.check(); err != nil {
		fmt.Fprintf(stderr, "sourced: catalog: %v\n", err)
		return exitError
	}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelInfo
	if v := os.Getenv("SOURCED_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(stderr, "sourced: SOURCED_LOG_LEVEL=%q: %v\n", v, err)
			return exitUsage
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var err error
	switch args[0] {
	case "dev":
		err = ct.runDev(ctx, args[1:], stdout, logger)
	case "broker":
		err = runBroker(ctx, args[1:], stdout, logger)
	case "topics":
		err = ct.runTopics(ctx, args[1:], stdout)
	case "run":
		if len(args) >= 2 && args[1] == "view" {
			err = ct.runView(ctx, args[2:], stdout, logger)
		} else if len(args) >= 2 && args[1] == "gateway" {
			err = ct.runGateway(ctx, args[2:], stdout, logger)
		} else {
			err = ct.runRole(ctx, args[1:], stdout, logger)
		}
	case "view":
		if len(args) < 2 || args[1] != "rebuild" {
			usage(stderr)
			return exitUsage
		}
		err = ct.runViewRebuild(ctx, args[2:], stdout, logger)
	case "offsets":
		if len(args) < 2 || args[1] != "reset" {
			usage(stderr)
			return exitUsage
		}
		err = runOffsetsReset(ctx, args[2:], stdout)
	case "send":
		if err = ct.runSend(ctx, args[1:], stdout); err != nil && !errors.As(err, new(errExit)) {
			// send exits 4 for usage and connection errors alike.
			fmt.Fprintln(stderr, "sourced:", err)
			return exitUsage
		}
	case "state":
		switch {
		case len(args) >= 2 && args[1] == "dump":
			err = runStateDump(args[2:], stdout)
		case len(args) >= 2 && args[1] == "get":
			err = ct.runStateGet(ctx, args[2:], stdout)
		default:
			usage(stderr)
			return exitUsage
		}
	case "events":
		if len(args) < 2 || args[1] != "tail" {
			usage(stderr)
			return exitUsage
		}
		err = ct.runEventsTail(ctx, args[2:], stdout)
	case "load":
		err = ct.runLoad(ctx, args[1:], stdout, stderr, logger)
	case "version":
		err = ct.runVersion(args[1:], stdout)
	case "probe":
		err = runProbe(ctx, args[1:], stdout)
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "sourced: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	if err != nil {
		var code errExit
		if errors.As(err, &code) {
			return int(code)
		}
		if ue, ok := err.(usageError); ok {
			fmt.Fprintln(stderr, "sourced:", ue.Error())
			return exitUsage
		}
		fmt.Fprintln(stderr, "sourced:", err)
		return exitError
	}
	return exitOK
}

type usageError struct{ error }

func usage(w io.Writer) {
	fmt.Fprint(w, `sourced: event-sourced aggregates on Kafka

  sourced dev          run the embedded broker, topics, processors and publishers
                       of every aggregate in one process (Ctrl-C stops cleanly);
                       --brokers B uses those brokers instead of the embedded one
  sourced broker       the embedded Kafka-protocol broker alone (--data-dir, --listen)
  sourced topics ensure
                       create or verify the topics of every aggregate
  sourced run processor|publisher --aggregate NAME
                       one role of one aggregate (replicas share partitions)
  sourced run gateway  the HTTP API (POST /v1/{aggregate}/{id}/{command}, reads,
                       view search) with /metrics, /healthz, /readyz on --http
  sourced send AGGREGATE ID COMMAND ['JSON']
                       send a command and print its result (exit 0 accepted,
                       1 rejected, 2 conflict, 3 timeout, 4 usage or connection)
  sourced state get AGGREGATE ID
                       print one snapshot, read from the table topic
  sourced events tail AGGREGATE [ID] [--from-beginning]
                       print events as JSON lines, following new ones
  sourced state dump   print the snapshots of a stopped replica's data dir
  sourced load --aggregate invoice|profile --rate R --duration D [--via gateway|kafka]
                       generate realistic traffic with a progress bar, then print
                       sent, accepted, rejected, throughput and latency percentiles
  sourced version      print the version stamped at build time
  sourced probe URL    exit 0 when URL answers 2xx (container health checks)

Run "sourced <command> -h" for its flags.
`)
}
