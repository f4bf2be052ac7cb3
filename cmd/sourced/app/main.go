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
// Usage (the command table in commands.go prints the same with `sourced -h`):
//
//	sourced dev [--data-dir D] [--listen ADDR | --brokers B] [--prefix P] [--partitions N] [--http ADDR] [--es-url U]
//	sourced broker [--data-dir D] [--listen ADDR]
//	sourced topics ensure [--brokers B] [--partitions N] [--replication R] [--no-compaction]
//	sourced run processor|publisher --aggregate NAME [--brokers B] [--data-dir D] [--standby] [--http ADDR]
//	sourced run view --view NAME [--brokers B] [--es-url U] [--http ADDR]
//	sourced run gateway [--brokers B] [--http ADDR] [--es-url U] [--tokens-file F] [--result-wait 5s] [--read-wait 5s]
//	sourced send AGGREGATE ID COMMAND ['JSON'] [--brokers B] [--command-id K] [--expected-version V] [--timeout 5s] [--no-wait]
//	sourced state get AGGREGATE ID [--brokers B]
//	sourced state dump [--data-dir D] [--topic T]
//	sourced events tail AGGREGATE [ID] [--from-beginning]
//	sourced view rebuild VIEW [--es-url U | --gateway URL] [--keep-old]
//	sourced offsets reset --group G --to earliest|latest|TIME|OFFSET [--execute]
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
// error (send and the tools also have codes of their own). In a container
// with a memory limit it first sets Go's soft memory limit to 90% of it,
// unless GOMEMLIMIT is set (applyMemoryLimit).
func Main(c Catalog) int {
	applyMemoryLimit("/sys/fs/cgroup", slog.Default())
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
		ct.overview(stderr)
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
	return ct.dispatch(ctx, args, stdio{stdout: stdout, stderr: stderr, logger: logger})
}

type usageError struct{ error }
