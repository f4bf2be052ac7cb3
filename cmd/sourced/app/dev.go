package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	embedded "github.com/b2dc4357/sourced/processors/kafka/broker"
	"github.com/b2dc4357/sourced/views"
)

// runDev runs the embedded broker (or connects to --brokers), creates the
// topics, and runs the processor and publisher of every aggregate and the
// projector of every view (into bleve, or Elasticsearch with --es-url) until
// ctx is cancelled.
func (ct Catalog) runDev(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("dev")
	dataDir := fs.String("data-dir", ".sourced", "data directory for the broker log and the state stores")
	listen := fs.String("listen", "127.0.0.1:9092", "address of the embedded Kafka-protocol broker")
	partitions := fs.Int("partitions", 8, "partitions of each topic created")
	kf := addKafkaFlagsBrokers(fs, "", "Kafka bootstrap brokers, comma-separated, instead of the embedded broker (empty: run the embedded broker on --listen)")
	es := addESFlags(fs)
	refresh := addRefreshFlag(fs)
	httpAddr := addHTTPFlag(fs, defaultHTTP)
	pprofOn := addPprofFlag(fs)
	gf := addGatewayFlags(fs)
	rf := addRetentionFlags(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	sf := &storeFlags{dataDir: dataDir, refresh: refresh, es: es}
	o, err := newOps(*httpAddr, ct.Aggregates, logger)
	if err != nil {
		return err
	}
	o.servePprof(*pprofOn)
	prefix := *kf.prefix

	// The embedded broker keeps no compacted topics (it ignores
	// min.compaction.lag.ms); other brokers get the topics of DESIGN.md,
	// with the broker's default replication.
	var (
		conn  kafka.Connection
		spec  = kafka.TopicSpec{Partitions: int32(*partitions), NoCompaction: true}
		where string
	)
	if *kf.brokers == "" {
		var broker *embedded.Broker
		err := labelRole(ctx, "broker", func(context.Context) (err error) {
			broker, err = embedded.Start(embedded.Config{Dir: filepath.Join(*dataDir, "broker"), Listen: *listen, Logger: logger,
				RetentionCheck: retentionCheckFor(rf.retention().shortest())})
			return err
		})
		if err != nil {
			return err
		}
		defer broker.Close()
		// Every role here talks to the broker in-process (a net.Pipe, no
		// loopback sockets); other processes use the listen address.
		conn = kafka.Connection{Brokers: broker.ListenAddrs(), ClientID: *kf.clientID, Dial: broker.Dial}
		where = fmt.Sprintf("%s (data in %s)", conn.Brokers[0], filepath.Join(*dataDir, "broker"))
	} else {
		c, err := kf.connection()
		if err != nil {
			return err
		}
		if err := ping(ctx, c); err != nil {
			return err
		}
		if err := c.Apply(processors.KafkaConfig()); err != nil {
			return usageError{fmt.Errorf("kafka connection: %w", err)}
		}
		conn = c
		spec = kafka.TopicSpec{Partitions: int32(*partitions), Replication: -1}
		where = conn.String()
	}
	if prefix != "" {
		where += ", names prefixed " + prefix + "-"
	}

	cl, err := conn.NewClient()
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()

	g, ctx := errgroup.WithContext(ctx)
	var roles []role
	for _, def := range ct.Aggregates {
		topics := codecs.NewTopics(prefix, def.Name())
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := kafka.EnsureTopics(tctx, cl, topics, spec)
		if err == nil {
			err = setRetention(tctx, cl, topics, rf.retention(), *kf.brokers == "")
		}
		cancel()
		if err != nil {
			return fmt.Errorf("topics of %s: %w", def.Name(), err)
		}
		cfg := o.processorConfig(roleConfig(conn, processors.KafkaConfig(), *dataDir, cl, logger.With("aggregate", def.Name())))
		cfg.Prefix = prefix
		cfg.Store.WriteBuffer = devWriteBuffer
		cfg.SnapshotCacheBytes = devSnapshotCache
		roles = append(roles, processorRole(def, cfg, conn, o), publisherRole(def, cfg, conn, o))
		fmt.Fprintf(stdout, "%-8s processor group %s, publisher group %s: %s -> %s, %s\n",
			def.Name(), topics.Group, topics.PublisherGroup, topics.Commands, topics.Results, topics.Events)
	}
	var (
		store      views.Store
		storeWhere string
	)
	// The embedded store's indices merge in goroutines started as they open.
	err = labelRole(ctx, "view store", func(ctx context.Context) (err error) {
		store, storeWhere, err = sf.open(ctx, logger, prefix)
		return err
	})
	if err != nil {
		return err
	}
	defer store.Close()
	o.watchStore(func() views.Store { return store })
	for _, v := range ct.Views {
		roles = append(roles, viewRole(v, conn, processors.KafkaConfig(), prefix, func() views.Store { return store }, cl, logger, o))
		fmt.Fprintf(stdout, "view     %s (group %s) <- %s\n", v.Name, codecs.ViewGroup(prefix, v.Name), v.SourceTopic(codecs.NewTopics(prefix, v.Aggregate)))
	}
	// dev is the broker plus every role of the catalog, as `run` runs them.
	for _, r := range roles {
		r.watch(o)
		g.Go(func() error { return r.run(ctx, logger) })
	}
	if o.srv != nil {
		gw, err := ct.newDevGateway(conn, processors.KafkaConfig(), prefix, *dataDir, store, cl, gf, o, logger)
		if err != nil {
			return err
		}
		g.Go(func() error {
			return labelRole(ctx, "gateway", func(ctx context.Context) error { return wrapRole("gateway", "http", gw.Run(ctx)) })
		})
	}
	// The HTTP endpoint: the gateway's requests, /metrics and the lag polls.
	g.Go(func() error { return labelRole(ctx, "http", func(ctx context.Context) error { return o.run(ctx, cl) }) })
	if o.srv != nil {
		fmt.Fprintf(stdout, "http     http://%s (/v1/ gateway, /metrics, /healthz, /readyz, /goka/)\n", o.srv.Addr())
	}
	fmt.Fprintf(stdout, "broker   %s\nstate    %s\nviews    %s\nCtrl-C stops cleanly; a restart resumes with the data.\n",
		where, filepath.Join(*dataDir, "state"), storeWhere)
	if o.srv != nil {
		ct.printCurlLines(stdout, o.srv.Addr(), *gf.tokensFile != "")
	}
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.Info("stopped cleanly")
	return nil
}

func wrapRole(role, aggregate string, err error) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", role, aggregate, err)
	}
	return nil
}
