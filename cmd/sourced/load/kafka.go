package load

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
)

// Kafka is a Sender that produces commands straight to the commands topic
// and reads every partition of the results topic, handing each result to
// the Send waiting for its command id. Build it with NewKafka and keep Run
// running while sending. Safe for concurrent use.
type Kafka struct {
	cl     *kgo.Client
	topics codecs.Topics

	mu      sync.Mutex
	waiting map[string]chan codecs.Result // by command id; buffered (1)
}

// NewKafka positions a results reader of topics.Results at the current end
// of each partition, so no result of a command sent afterwards is missed.
// cl must place keys as goka does (kgo.RecordPartitioner with
// kafka.Partitioner()) and must not consume anything else; the caller
// keeps ownership and closes it after Run returned.
func NewKafka(ctx context.Context, cl *kgo.Client, topics codecs.Topics) (*Kafka, error) {
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics.Results)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("find the end of %s: %w", topics.Results, err)
	}
	start := map[string]map[int32]kgo.Offset{topics.Results: {}}
	ends.Each(func(o kadm.ListedOffset) { start[topics.Results][o.Partition] = kgo.NewOffset().At(o.Offset) })
	if len(start[topics.Results]) == 0 {
		return nil, fmt.Errorf("find the end of %s: no partitions", topics.Results)
	}
	cl.AddConsumePartitions(start)
	return &Kafka{cl: cl, topics: topics, waiting: map[string]chan codecs.Result{}}, nil
}

// Run reads results until ctx is done, then returns nil. Results of
// commands nobody waits for (other clients', or given up on) are skipped.
func (k *Kafka) Run(ctx context.Context) error {
	for {
		fetches := k.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// Fetch errors are retried by franz-go itself; a command whose
		// result never comes times out in Send.
		fetches.EachRecord(func(r *kgo.Record) {
			var res codecs.Result
			if json.Unmarshal(r.Value, &res) != nil || res.CommandID == "" {
				return
			}
			k.mu.Lock()
			ch, ok := k.waiting[res.CommandID]
			delete(k.waiting, res.CommandID)
			k.mu.Unlock()
			if ok {
				ch <- res
			}
		})
	}
}

// Send produces cmd and waits for its result, until ctx is done.
func (k *Kafka) Send(ctx context.Context, cmd *codecs.Command) (codecs.Result, error) {
	value, err := codecs.CommandCodec{}.Encode(cmd)
	if err != nil {
		return codecs.Result{}, &NoResultError{Reason: "encode", Err: err}
	}
	ch := make(chan codecs.Result, 1)
	failed := make(chan error, 1)
	k.mu.Lock()
	k.waiting[cmd.ID] = ch
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		delete(k.waiting, cmd.ID)
		k.mu.Unlock()
	}()
	rec := &kgo.Record{Topic: k.topics.Commands, Key: []byte(cmd.AggregateID), Value: value}
	k.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
		if err != nil {
			failed <- err
		}
	})
	select {
	case res := <-ch:
		return res, nil
	case err := <-failed:
		if ctx.Err() != nil {
			return codecs.Result{}, &NoResultError{Reason: ctxReason(ctx), Err: ctx.Err()}
		}
		return codecs.Result{}, &NoResultError{Reason: "produce", Err: err}
	case <-ctx.Done():
		return codecs.Result{}, &NoResultError{Reason: ctxReason(ctx), Err: ctx.Err()}
	}
}

// ctxReason names why ctx ended: "timeout" for its deadline, "cancelled"
// otherwise (the run stopped waiting).
func ctxReason(ctx context.Context) string {
	if ctx.Err() == context.DeadlineExceeded {
		return "timeout"
	}
	return "cancelled"
}
