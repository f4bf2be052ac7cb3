package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// runStateGet prints the snapshot of one aggregate, read through a goka View
// of the table (it recovers the table into memory first).
func (ct Catalog) runStateGet(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("state get")
	kf := addKafkaFlags(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the table to be read")
	pos, err := parseWithPositionals(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{fmt.Errorf("state get: want <aggregate> <id>")}
	}
	def, err := ct.findAggregate(pos[0])
	if err != nil {
		return err
	}
	topics := kf.topics(def.Name())
	conn, sc, err := kf.saramaConfig(ctx)
	if err != nil {
		return err
	}
	fenced := processors.NewFencedTable(memoryStorage(), nil, nil)
	view, err := goka.NewView(conn.Brokers, goka.Table(topics.Table), codecs.JSON[codecs.Snapshot]{},
		goka.WithViewStorageBuilder(fenced.Build),
		goka.WithViewCallback(fenced.Update),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, goka.NewTopicManagerConfig())))
	if err != nil {
		return fmt.Errorf("view of %s: %w", topics.Table, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for !view.Recovered() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("read %s: %w", topics.Table, ctx.Err())
		case err := <-done:
			return fmt.Errorf("read %s: %w", topics.Table, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	v, err := view.Get(pos[1])
	if err != nil {
		return fmt.Errorf("get %s %s: %w", def.Name(), pos[1], err)
	}
	if v == nil {
		return fmt.Errorf("%s %q: %w", def.Name(), pos[1], errNotFound)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}

// runEventsTail prints the events of an aggregate type (or one aggregate)
// as JSON lines, following new ones until interrupted.
func (ct Catalog) runEventsTail(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("events tail")
	kf := addKafkaFlags(fs)
	fromBeginning := fs.Bool("from-beginning", false, "start at the first event instead of new ones")
	pos, err := parseWithPositionals(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError{fmt.Errorf("events tail: want <aggregate> [<id>]")}
	}
	def, err := ct.findAggregate(pos[0])
	if err != nil {
		return err
	}
	start := kgo.NewOffset().AtEnd()
	if *fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	_, cl, _, err := kf.connect(ctx, kgo.ConsumeTopics(kf.topics(def.Name()).Events), kgo.ConsumeResetOffset(start))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var werr error
		fetches.EachError(func(t string, p int32, err error) { werr = fmt.Errorf("read %s/%d: %w", t, p, err) })
		if werr != nil {
			return werr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if werr != nil || (len(pos) == 2 && string(r.Key) != pos[1]) {
				return
			}
			_, werr = fmt.Fprintln(stdout, string(r.Value))
		})
		if werr != nil {
			return werr
		}
	}
}

// errNotFound reports an aggregate without a snapshot.
var errNotFound = errors.New("not found")

// memoryStorage keeps a view's table in memory: a one-shot read needs no
// local store.
func memoryStorage() storage.Builder { return storage.MemoryBuilder() }
