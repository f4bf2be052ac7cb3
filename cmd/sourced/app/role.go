package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
)

// role is one supervised part of a replica (a processor, publisher or view
// projector of one aggregate or view) as a value: how to build it, and what
// the ops server watches for it. `run processor|publisher|view` runs one
// role; `dev` is the embedded broker plus every role of the catalog and the
// gateway.
type role struct {
	// kind is "processor", "publisher" or "view"; name the aggregate or view.
	kind, name string
	// tables are the group tables whose recovery gates readiness.
	tables []string
	// lagGroups are the consumer groups whose lag the ops server polls.
	lagGroups []string
	// build makes a fresh runner (supervise calls it again after a failure).
	build func(ctx context.Context) (runner, error)
}

// processorRole is the command processor of def.
func processorRole(def processors.Definition, cfg processors.Config, conn kafka.Connection, o *ops, opts ...goka.ProcessorOption) role {
	topics := codecs.NewTopics(cfg.Prefix, def.Name())
	return role{kind: "processor", name: def.Name(), tables: []string{topics.Table}, lagGroups: []string{topics.Group},
		build: func(ctx context.Context) (runner, error) {
			p, err := processors.NewProcessor(def, cfg, opts...)
			if err != nil {
				return nil, unreachable(ctx, err, conn.Ping)
			}
			o.goka.SetProcessor("processor "+def.Name(), p.Goka())
			return p, nil
		}}
}

// publisherRole is the publisher of def's events.
func publisherRole(def processors.Definition, cfg processors.Config, conn kafka.Connection, o *ops, opts ...goka.ProcessorOption) role {
	topics := codecs.NewTopics(cfg.Prefix, def.Name())
	return role{kind: "publisher", name: def.Name(), tables: []string{topics.PublisherTable}, lagGroups: []string{topics.PublisherGroup},
		build: func(ctx context.Context) (runner, error) {
			p, err := processors.NewPublisher(def, cfg, opts...)
			if err != nil {
				return nil, unreachable(ctx, err, conn.Ping)
			}
			o.goka.SetProcessor("publisher "+def.Name(), p.Goka())
			return p, nil
		}}
}

// viewRole is the live projector of v into the store that store returns
// when the role is built (`run view` opens it once the topics are there).
func viewRole(v *views.View, conn kafka.Connection, sc *sarama.Config, prefix string, store func() views.Store, cl *kgo.Client, logger *slog.Logger, o *ops) role {
	return role{kind: "view", name: v.Name, lagGroups: []string{codecs.ViewGroup(prefix, v.Name)},
		build: func(ctx context.Context) (runner, error) {
			p, err := newProjector(v, conn, sc, prefix, store(), cl, logger, o)
			if err != nil {
				return nil, unreachable(ctx, err, conn.Ping)
			}
			return p, nil
		}}
}

// watch registers the role's tables and lag groups with the ops server.
func (r role) watch(o *ops) {
	for _, t := range r.tables {
		o.watchTable(t)
	}
	o.watchLag(r.lagGroups...)
}

// run supervises the role until ctx is done (nil after a clean stop).
func (r role) run(ctx context.Context, logger *slog.Logger) error {
	err := labelRole(ctx, r.kind+" "+r.name, func(ctx context.Context) error {
		return supervise(ctx, r.kind+" "+r.name, logger, defaultRestarts, func() (runner, error) { return r.build(ctx) })
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.kind, r.name, err)
	}
	return nil
}
