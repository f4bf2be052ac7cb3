package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/cmd/sourced/metrics"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/state"
	"github.com/b2dc4357/sourced/views"
)

// Defaults of --http: the gateway's well-known port for dev and run
// gateway, and a free port (logged as "http serving") for the other
// long-running roles, so several of them run side by side on one machine
// without a flag each. Deployments set SOURCED_HTTP (the image does).
const (
	defaultHTTP     = "127.0.0.1:8080"
	defaultRoleHTTP = "127.0.0.1:0"
)

// lagInterval is how often the consumer lag is polled.
const lagInterval = 10 * time.Second

// addHTTPFlag adds --http (env SOURCED_HTTP) to fs, defaulting to def.
func addHTTPFlag(fs interface {
	String(name, value, usage string) *string
}, def string) *string {
	return fs.String("http", def, `address of /metrics, /healthz, /readyz and goka's monitor on /goka/ ("off" or "" disables them; port 0: a free one, logged as "http serving")`)
}

// ops is what a long-running process exposes about itself: metrics fed
// by its roles, the HTTP endpoint (nil when --http is off), goka's
// monitor, and the consumer groups whose lag it polls.
type ops struct {
	reg     *prometheus.Registry
	metrics *metrics.Set
	srv     *telemetry.Server
	goka    *telemetry.GokaMonitor
	logger  *slog.Logger
	groups  []string
	// running holds, per name, the running check of the current runner
	// that setRunning's readiness check asks; supervised restarts replace it.
	running sync.Map // string → func() bool
	// lagEvery is how often run polls the lag. Default: lagInterval.
	lagEvery time.Duration
	// lagTotals is the last polled lag per group and topic, summed over
	// partitions: what the gateway sheds on.
	lagTotals lagTotals
	// blockCache is the LevelDB block cache every store of the process
	// shares (processBlockCache).
	blockCache *state.BlockCache
}

// newOps registers the metrics and, unless addr is "" or "off", binds the
// HTTP endpoint on addr, so a taken port fails the command at once.
func newOps(addr string, aggregates []processors.Definition, logger *slog.Logger) (*ops, error) {
	o := &ops{reg: prometheus.NewRegistry(), goka: &telemetry.GokaMonitor{}, logger: logger, lagEvery: lagInterval,
		blockCache: state.NewBlockCache(processBlockCache)}
	o.metrics = metrics.Register(o.reg, aggregates)
	if addr == "" || addr == "off" {
		return o, nil
	}
	o.srv = telemetry.NewServer(addr, o.reg, logger)
	o.srv.HandleGoka(o.goka)
	if err := o.srv.Listen(); err != nil {
		return nil, usageError{fmt.Errorf("--http: %w", err)}
	}
	return o, nil
}

// processorConfig returns cfg with the hooks that feed the metrics.
func (o *ops) processorConfig(cfg processors.Config) processors.Config {
	cfg.Hooks = o.metrics.Processors.Hooks()
	cfg.Store.BlockCache = o.blockCache
	return cfg
}

// watchTable adds the readiness check "tables recovered: <table>".
func (o *ops) watchTable(table string) {
	if o.srv == nil {
		return
	}
	o.srv.AddReadiness("tables recovered: "+table, func(ctx context.Context) error {
		return o.metrics.Processors.TableRecovered(ctx, table)
	})
}

// watchStore adds the readiness check "view store answers": a listing of
// indices on the store get returns, which is nil until the store is open.
func (o *ops) watchStore(get func() views.Store) {
	if o.srv == nil {
		return
	}
	o.srv.AddReadiness("view store answers", func(ctx context.Context) error {
		store := get()
		if store == nil {
			return errors.New("view store not open yet")
		}
		if _, err := store.Indices(ctx, "sourced-readiness-probe-"); err != nil {
			return fmt.Errorf("view store: %w", err)
		}
		return nil
	})
}

// setRunning records running as the check of name's current runner and,
// the first time, adds the readiness check "running: <name>": ready once
// running reports true (the runner joined its group and was given its
// partitions). Without it a view would answer reads with nothing for the
// seconds its first rebalance takes (on Apache Kafka, several).
func (o *ops) setRunning(name string, running func() bool) {
	if _, loaded := o.running.Swap(name, running); loaded || o.srv == nil {
		return
	}
	o.srv.AddReadiness("running: "+name, func(context.Context) error {
		v, _ := o.running.Load(name)
		if running, _ := v.(func() bool); running != nil && running() {
			return nil
		}
		return errors.New("not running yet (joining its group)")
	})
}

// watchLag adds consumer groups whose lag run polls.
func (o *ops) watchLag(groups ...string) { o.groups = append(o.groups, groups...) }

// run serves the HTTP endpoint (when on) and polls the lag of the watched
// groups with cl until ctx is done.
func (o *ops) run(ctx context.Context, cl *kgo.Client) error {
	g, ctx := errgroup.WithContext(ctx)
	if o.srv != nil {
		g.Go(func() error { return o.srv.Run(ctx) })
	}
	if cl != nil && len(o.groups) > 0 {
		g.Go(func() error {
			pollLag(ctx, kadm.NewClient(cl), o.groups, o.metrics.Lag, &o.lagTotals, o.lagEvery, o.logger)
			return nil
		})
	}
	return g.Wait()
}

// serve runs role and o until role returns, and returns role's error, or
// the endpoint's when it failed first.
func (o *ops) serve(ctx context.Context, cl *kgo.Client, role func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer cancel()
		return role(gctx)
	})
	g.Go(func() error { return o.run(gctx, cl) })
	return g.Wait()
}

// lagTotals holds the consumer lag per group and topic, summed over the
// partitions, as pollLag last saw it. Safe for concurrent use.
type lagTotals struct {
	mu     sync.Mutex
	totals map[[2]string]int64 // {group, topic} → lag
}

// get returns the lag of group on topic; false until a poll has seen it.
func (l *lagTotals) get(group, topic string) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.totals[[2]string{group, topic}]
	return v, ok
}

func (l *lagTotals) set(totals map[[2]string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.totals = totals
}

// commandLag returns a gateway.Config.CommandLag: the lag of an
// aggregate's processor group on its commands topic, summed over the
// partitions, as the process's lag poll last saw it (one poll serves the
// metric and the gateway).
func (o *ops) commandLag(prefix string) func(aggregate string) (int64, bool) {
	return func(aggregate string) (int64, bool) {
		t := codecs.NewTopics(prefix, aggregate)
		return o.lagTotals.get(t.Group, t.Commands)
	}
}

// pollLag sets lag (and totals) for groups every interval until ctx is
// done. Series of partitions a group no longer reports are removed. A
// failed poll is logged and leaves the last values.
func pollLag(ctx context.Context, adm *kadm.Client, groups []string, lag *prometheus.GaugeVec, totals *lagTotals, interval time.Duration, logger *slog.Logger) {
	type series struct{ group, topic, partition string }
	last := map[series]int64{}
	for {
		pctx, cancel := context.WithTimeout(ctx, interval)
		lags, err := adm.Lag(pctx, groups...)
		cancel()
		if err != nil && ctx.Err() == nil {
			logger.Warn("poll consumer lag", "groups", groups, "error", err)
		}
		if err == nil {
			now := map[series]int64{}
			for _, gl := range lags {
				if gerr := gl.Error(); gerr != nil {
					switch {
					case errors.Is(gerr, kerr.GroupIDNotFound):
						// Not created yet: its members have not joined.
						logger.Debug("poll consumer lag", "group", gl.Group, "error", gerr)
					case !errors.Is(gerr, context.Canceled):
						logger.Warn("poll consumer lag", "group", gl.Group, "error", gerr)
					}
					// Keep the group's last values rather than drop them.
					for s, v := range last {
						if s.group == gl.Group {
							now[s] = v
						}
					}
					continue
				}
				for _, ml := range gl.Lag.Sorted() {
					if ml.Err != nil || ml.Lag < 0 {
						continue
					}
					s := series{gl.Group, ml.Topic, strconv.FormatInt(int64(ml.Partition), 10)}
					lag.WithLabelValues(s.group, s.topic, s.partition).Set(float64(ml.Lag))
					now[s] = ml.Lag
				}
			}
			sums := map[[2]string]int64{}
			for s := range last {
				if _, ok := now[s]; !ok {
					lag.DeleteLabelValues(s.group, s.topic, s.partition)
				}
			}
			for s, v := range now {
				sums[[2]string{s.group, s.topic}] += v
			}
			totals.set(sums)
			last = now
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
