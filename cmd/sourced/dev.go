package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/reference"
)

// runDev runs the embedded broker, creates the topics, and runs the
// processor and publisher of every aggregate and the projector of every
// view (into bleve, or Elasticsearch with --es-url) until ctx is cancelled.
func runDev(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("dev")
	dataDir := fs.String("data-dir", ".sourced", "data directory for the broker log and the state stores")
	listen := fs.String("listen", "127.0.0.1:9092", "address of the embedded Kafka-protocol broker")
	partitions := fs.Int("partitions", 8, "partitions of each topic created")
	es := addESFlags(fs)
	httpAddr := addHTTPFlag(fs)
	gf := addGatewayFlags(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	sf := &storeFlags{dataDir: dataDir, es: es}
	o, err := newOps(*httpAddr, logger)
	if err != nil {
		return err
	}

	broker, err := startBroker(brokerConfig{Dir: filepath.Join(*dataDir, "broker"), Listen: *listen, Logger: logger})
	if err != nil {
		return err
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()

	g, ctx := errgroup.WithContext(ctx)
	for _, def := range aggregates() {
		topics := codecs.NewTopics("", def.Name())
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := processors.EnsureTopics(tctx, cl, topics, processors.TopicSpec{Partitions: int32(*partitions), NoCompaction: true})
		cancel()
		if err != nil {
			return fmt.Errorf("topics of %s: %w", def.Name(), err)
		}
		cfg := o.processorConfig(roleConfig(brokers, processors.KafkaConfig(), *dataDir, cl, logger.With("aggregate", def.Name())))
		o.watchTable(topics.Table)
		o.watchTable(topics.PublisherTable)
		o.watchLag(topics.Group, topics.PublisherGroup)
		g.Go(func() error {
			return wrapRole("processor", def.Name(), supervise(ctx, "processor "+def.Name(), logger, defaultRestarts,
				func() (runner, error) {
					p, err := processors.NewProcessor(def, cfg)
					if err == nil {
						o.goka.SetProcessor("processor "+def.Name(), p.Goka())
					}
					return p, err
				}))
		})
		g.Go(func() error {
			return wrapRole("publisher", def.Name(), supervise(ctx, "publisher "+def.Name(), logger, defaultRestarts,
				func() (runner, error) {
					p, err := processors.NewPublisher(def, cfg)
					if err == nil {
						o.goka.SetProcessor("publisher "+def.Name(), p.Goka())
					}
					return p, err
				}))
		})
		fmt.Fprintf(stdout, "%-8s processor group %s, publisher group %s: %s -> %s, %s\n",
			def.Name(), topics.Group, topics.PublisherGroup, topics.Commands, topics.Results, topics.Events)
	}
	store, where, err := sf.open(ctx, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	o.watchStore(func() views.Store { return store })
	for _, v := range reference.All() {
		o.watchLag(codecs.ViewGroup("", v.Name))
		g.Go(func() error {
			return wrapRole("view", v.Name, supervise(ctx, "view "+v.Name, logger, defaultRestarts,
				func() (runner, error) {
					return newProjector(v, brokers, processors.KafkaConfig(), store, cl, logger, o)
				}))
		})
		fmt.Fprintf(stdout, "view     %s (group %s) <- %s\n", v.Name, codecs.ViewGroup("", v.Name), v.SourceTopic(codecs.NewTopics("", v.Aggregate)))
	}
	if o.srv != nil {
		gw, err := newDevGateway(brokers, *dataDir, store, cl, gf, o, logger)
		if err != nil {
			return err
		}
		g.Go(func() error { return wrapRole("gateway", "http", gw.Run(ctx)) })
	}
	g.Go(func() error { return o.run(ctx, cl) })
	if o.srv != nil {
		fmt.Fprintf(stdout, "http     http://%s (/v1/ gateway, /metrics, /healthz, /readyz, /goka/)\n", o.srv.Addr())
	}
	fmt.Fprintf(stdout, "broker   %s (data in %s)\nstate    %s\nviews    %s\nCtrl-C stops cleanly; a restart resumes with the data.\n",
		brokers[0], filepath.Join(*dataDir, "broker"), filepath.Join(*dataDir, "state"), where)
	if o.srv != nil {
		printCurlLines(stdout, o.srv.Addr(), *gf.tokensFile != "")
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
