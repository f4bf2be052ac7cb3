package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// findAggregate returns the registered aggregate called name.
func findAggregate(name string) (processors.Definition, error) {
	var known []string
	for _, def := range aggregates() {
		if def.Name() == name {
			return def, nil
		}
		known = append(known, def.Name())
	}
	return nil, usageError{fmt.Errorf("unknown aggregate %q (known: %s)", name, strings.Join(known, ", "))}
}

// startBroker starts the embedded Kafka-protocol broker persisting to dir.
func startBroker(dir, listen string) (*kfake.Cluster, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DataDir(dir),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, listen) }),
	)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", listen, err)
	}
	return c, nil
}

// runBroker runs the embedded broker alone until ctx is cancelled.
func runBroker(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("broker")
	dataDir := fs.String("data-dir", ".sourced", "data directory; the broker log is kept in <data-dir>/broker")
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	c, err := startBroker(filepath.Join(*dataDir, "broker"), *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "broker %s (data in %s)\n", c.ListenAddrs()[0], filepath.Join(*dataDir, "broker"))
	<-ctx.Done()
	c.Close()
	logger.Info("broker stopped cleanly")
	return nil
}

// runTopics implements `topics ensure`.
func runTopics(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "ensure" {
		return usageError{fmt.Errorf("topics: want `topics ensure`")}
	}
	fs := newFlagSet("topics ensure")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	partitions := fs.Int("partitions", 8, "partitions of each topic")
	replication := fs.Int("replication", 1, "replication factor (-1: the broker's default)")
	noCompaction := fs.Bool("no-compaction", false, "table topics: delete policy with infinite retention instead of compaction (for brokers that ignore min.compaction.lag.ms, like the embedded one)")
	if err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	defer cl.Close()
	spec := processors.TopicSpec{Partitions: int32(*partitions), Replication: int16(*replication), NoCompaction: *noCompaction}
	for _, def := range aggregates() {
		topics := codecs.NewTopics("", def.Name())
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := processors.EnsureTopics(tctx, cl, topics, spec)
		cancel()
		if err != nil {
			return fmt.Errorf("topics of %s: %w", def.Name(), err)
		}
		fmt.Fprintf(stdout, "%-8s %s ok\n", def.Name(), strings.Join(topics.All(), ", "))
	}
	return nil
}

// runRole implements `run processor|publisher`: one role of one aggregate.
func runRole(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 || (args[0] != "processor" && args[0] != "publisher") {
		return usageError{fmt.Errorf("run: want `run processor` or `run publisher`")}
	}
	role := args[0]
	fs := newFlagSet("run " + role)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	aggregate := fs.String("aggregate", "", "aggregate to run (invoice, profile)")
	dataDir := fs.String("data-dir", ".sourced", "data directory; state stores live in <data-dir>/state")
	standby := fs.Bool("standby", false, "keep hot standby copies of partitions this replica does not own")
	if err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	def, err := findAggregate(*aggregate)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	defer cl.Close()
	topics := codecs.NewTopics("", def.Name())
	if err := checkTopicsWaiting(ctx, cl, topics, logger); err != nil {
		return fmt.Errorf("%s %s refuses to start: %w", role, def.Name(), err)
	}
	cfg := roleConfig(strings.Split(*brokers, ","), *dataDir, cl, logger.With("aggregate", def.Name(), "role", role))
	var opts []goka.ProcessorOption
	if *standby {
		opts = append(opts, goka.WithHotStandby())
	}
	var runner interface{ Run(context.Context) error }
	if role == "processor" {
		runner, err = processors.NewProcessor(def, cfg, opts...)
	} else {
		runner, err = processors.NewPublisher(def, cfg, opts...)
	}
	if err != nil {
		return err
	}
	logger.Info("running", "role", role, "aggregate", def.Name(), "brokers", *brokers)
	if err := runner.Run(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", role, def.Name(), err)
	}
	logger.Info("stopped cleanly", "role", role, "aggregate", def.Name())
	return nil
}

// roleConfig is the processors configuration shared by every role.
func roleConfig(brokers []string, dataDir string, cl *kgo.Client, logger *slog.Logger) processors.Config {
	cfg := processors.Config{Brokers: brokers, Logger: logger}
	cfg.Store.Dir = filepath.Join(dataDir, "state")
	cfg.Store.Changelog = processors.Changelog(cl, 10*time.Second)
	return cfg
}

// checkTopicsWaiting checks the topics of an aggregate, waiting for the
// brokers while they cannot be reached (a role started before its broker, or
// during a broker restart), but failing at once on missing or mismatched
// topics, which waiting cannot fix.
func checkTopicsWaiting(ctx context.Context, cl *kgo.Client, topics codecs.Topics, logger *slog.Logger) error {
	backoff := 250 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := processors.CheckTopics(tctx, cl, topics)
		cancel()
		var mismatch *processors.TopicMismatchError
		if err == nil || errors.Is(err, processors.ErrTopicMissing) || errors.As(err, &mismatch) || ctx.Err() != nil {
			return err
		}
		logger.Warn("waiting for the brokers", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
