package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
)

// findView returns the reference view called name.
func (ct Catalog) findView(name string) (*views.View, error) {
	var known []string
	for _, v := range ct.Views {
		if v.Name == name {
			return v, nil
		}
		known = append(known, v.Name)
	}
	return nil, usageError{fmt.Errorf("unknown view %q (known: %s)", name, strings.Join(known, ", "))}
}

// storeFlags choose the view store: Elasticsearch when --es-url is given,
// otherwise the embedded bleve store under the data directory.
type storeFlags struct {
	dataDir *string
	refresh *time.Duration
	es      esFlags
}

func addStoreFlags(fs interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
	Duration(name string, value time.Duration, usage string) *time.Duration
}) *storeFlags {
	return &storeFlags{
		dataDir: fs.String("data-dir", ".sourced", "data directory; the embedded view store lives in <data-dir>/views"),
		refresh: addRefreshFlag(fs),
		es:      addESFlags(fs),
	}
}

// addRefreshFlag adds --refresh-interval, the embedded view store's
// bleve.Config.RefreshInterval.
func addRefreshFlag(fs interface {
	Duration(name string, value time.Duration, usage string) *time.Duration
}) *time.Duration {
	return fs.Duration("refresh-interval", bleve.DefaultRefreshInterval,
		"embedded view store: how long writes may wait in memory before they are written to disk as one segment (reads and searches see them at once; 0: every batch)")
}

// open opens the view store; Elasticsearch index names get prefix (the
// embedded store is private to its data dir).
func (f *storeFlags) open(ctx context.Context, logger *slog.Logger, prefix string) (views.Store, string, error) {
	if *f.es.url != "" {
		return f.es.open(ctx, logger, prefix)
	}
	dir := filepath.Join(*f.dataDir, "views")
	s, err := bleve.Open(bleve.Config{Dir: dir, Logger: logger, RefreshInterval: *f.refresh})
	if err != nil {
		return nil, "", fmt.Errorf("open view store %s: %w", dir, err)
	}
	return s, "bleve " + dir, nil
}

// batchLinger is the projector linger suited to store: the embedded
// store's (bleve.Store.BatchLinger), the projector's default (0)
// otherwise.
func batchLinger(store views.Store) time.Duration {
	if s, ok := store.(*bleve.Store); ok {
		return s.BatchLinger()
	}
	return 0
}

// deadLetters returns the sink for a view's dead letters: its aggregate's
// dead-letter topic.
func deadLetters(cl *kgo.Client, prefix string, v *views.View) views.DeadLetterFunc {
	return views.KafkaDeadLetters(cl, codecs.NewTopics(prefix, v.Aggregate).DLQ)
}

// runView implements `run view --view NAME`: the live projector of one view.
func (ct Catalog) runView(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("run view")
	kf := addKafkaFlags(fs)
	sf := addStoreFlags(fs)
	name := fs.String("view", "", "view to run ("+ct.viewNames()+")")
	httpAddr := addHTTPFlag(fs, defaultRoleHTTP)
	pprofOn := addPprofFlag(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	v, err := ct.findView(*name)
	if err != nil {
		return err
	}
	conn, cl, sc, err := kf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	o, err := newOps(*httpAddr, ct.Aggregates, logger)
	if err != nil {
		return err
	}
	o.servePprof(*pprofOn)
	var opened atomic.Pointer[views.Store]
	o.watchStore(func() views.Store {
		if s := opened.Load(); s != nil {
			return *s
		}
		return nil
	})
	r := viewRole(v, conn, sc, *kf.prefix, func() views.Store { return *opened.Load() }, cl, logger, o)
	r.watch(o)
	return o.serve(ctx, cl, func(ctx context.Context) error {
		if err := checkTopicsWaiting(ctx, conn, cl, kf.topics(v.Aggregate), logger); err != nil {
			return fmt.Errorf("view %s refuses to start: %w", v.Name, err)
		}
		store, where, err := sf.open(ctx, logger, *kf.prefix)
		if err != nil {
			return err
		}
		defer store.Close()
		opened.Store(&store)
		defer opened.Store(nil)
		logger.Info("running", "role", "view", "view", v.Name, "store", where, "kafka", conn.String())
		if err := r.run(ctx, logger); err != nil {
			return err
		}
		logger.Info("stopped cleanly", "role", "view", "view", v.Name)
		return nil
	})
}

// newProjector builds the projector of v, counting into o's metrics, its
// readiness watched by o.
func newProjector(v *views.View, conn kafka.Connection, sc *sarama.Config, prefix string, store views.Store, cl *kgo.Client, logger *slog.Logger, o *ops) (*views.Projector, error) {
	p, err := views.NewProjector(v, views.ProjectorConfig{
		Kafka: conn, Sarama: sc, Prefix: prefix, Store: store, DeadLetters: deadLetters(cl, prefix, v),
		Logger: logger.With("view", v.Name), Stats: o.metrics.Views.Stats(v.Name),
		Batch: views.BatchConfig{Linger: batchLinger(store)},
	})
	if err == nil {
		o.setRunning("view "+v.Name, p.Running)
	}
	return p, err
}

func (ct Catalog) viewNames() string {
	var names []string
	for _, v := range ct.Views {
		names = append(names, v.Name)
	}
	return strings.Join(names, ", ")
}

// runViewRebuild implements `view rebuild NAME`.
func (ct Catalog) runViewRebuild(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("view rebuild")
	kf := addKafkaFlags(fs)
	sf := addStoreFlags(fs)
	keepOld := fs.Bool("keep-old", false, "keep the previous generation's indices after the swap")
	httpAddr := fs.String("http", "", `serve /metrics (sourced_rebuild_progress_ratio, sourced_rebuild_eta_seconds) and /healthz on this address while rebuilding (default: off)`)
	gatewayURL := fs.String("gateway", "", "rebuild inside the process that owns the view store through its gateway (e.g. http://127.0.0.1:8080 for dev)")
	token := fs.String("token", "", "bearer token (write scope) for --gateway")
	pos, err := parseWithPositionals(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("view rebuild: want <view>")}
	}
	v, err := ct.findView(pos[0])
	if err != nil {
		return err
	}
	if *gatewayURL != "" {
		return rebuildViaGateway(ctx, *gatewayURL, *token, v.Name, *keepOld, stdout)
	}
	conn, cl, _, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	store, where, err := sf.open(ctx, logger, *kf.prefix)
	if err != nil {
		if *sf.es.url == "" {
			return fmt.Errorf("%w (the embedded store is owned by the running view or dev process: rebuild it there with --gateway http://<its --http>, stop it first, or use Elasticsearch)", err)
		}
		return err
	}
	defer store.Close()
	o, err := newOps(*httpAddr, ct.Aggregates, logger)
	if err != nil {
		return err
	}
	if o.srv != nil {
		fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", o.srv.Addr())
	}
	octx, stopOps := context.WithCancel(ctx)
	opsDone := make(chan error, 1)
	go func() { opsDone <- o.run(octx, nil) }()
	defer func() {
		stopOps()
		<-opsDone
	}()
	gauges := o.metrics.Views.RebuildProgress(v.Name)
	fmt.Fprintf(stdout, "rebuilding %s in %s\n", v.Name, where)
	last := time.Time{}
	res, err := views.Rebuild(ctx, v, views.RebuildConfig{
		Kafka:       conn,
		Store:       store,
		DeadLetters: deadLetters(cl, *kf.prefix, v),
		Prefix:      *kf.prefix,
		KeepOld:     *keepOld,
		Logger:      logger,
		Progress: func(p views.RebuildProgress) {
			gauges(p)
			if p.Phase == "replay" || p.Phase == "catch-up" {
				if time.Since(last) < time.Second {
					return
				}
			}
			last = time.Now()
			var parts []string
			for _, pp := range p.Partitions {
				parts = append(parts, fmt.Sprintf("%d:%d/%d", pp.Partition, pp.Next, pp.End))
			}
			fmt.Fprintf(stdout, "%-8s generation %d  %d records  %.0f/s  eta %s  [%s]\n",
				p.Phase, p.Generation, p.Records, p.Rate, p.ETA.Round(time.Second), strings.Join(parts, " "))
		},
	})
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", v.Name, err)
	}
	fmt.Fprintf(stdout, "%s now serves generation %d (%s); removed %s; %d records, %d writes, %d dead letters\n",
		v.Name, res.Generation, strings.Join(res.Indices, ", "), strings.Join(res.Removed, ", "),
		res.Records, res.Stats.Writes.Load(), res.Stats.DeadLetters.Load())
	return nil
}

// runOffsetsReset implements `offsets reset`.
func runOffsetsReset(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("offsets reset")
	kf := addKafkaFlags(fs)
	group := fs.String("group", "", "consumer group to move (e.g. invoice-search-view)")
	to := fs.String("to", "", "earliest, latest, an RFC 3339 time, or an offset")
	topic := fs.String("topic", "", "topics, comma-separated (default: those the group committed)")
	execute := fs.Bool("execute", false, "apply the plan (default: only print it)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *group == "" || *to == "" {
		return usageError{errors.New("offsets reset: --group and --to are required")}
	}
	target, err := kafka.ParseOffsetTarget(*to)
	if err != nil {
		return usageError{err}
	}
	_, cl, _, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	plan, err := kafka.PlanOffsetReset(ctx, adm, *group, splitList(*topic), target)
	if err != nil {
		return err
	}
	plan.Print(stdout)
	if !*execute {
		fmt.Fprintln(stdout, "plan only: run again with --execute to apply it")
		return nil
	}
	if err := kafka.ApplyOffsetPlan(ctx, adm, plan); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "group %s moved to %s\n", *group, target)
	return nil
}

// readSecret returns value, or the trimmed content of file when given.
func readSecret(value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usageError{fmt.Errorf("read secret file: %w", err)}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
