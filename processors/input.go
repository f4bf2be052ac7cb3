package processors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/processors/kafka"
)

// RejectWrongPartition is the error code of a command that arrived on a
// partition its key does not hash to (a producer with another partitioner,
// e.g. Java's murmur2 or librdkafka's): the partition's store does not hold
// its aggregate's snapshot, so deciding it would overwrite the real one. It
// is dead-lettered and changes nothing (DESIGN.md guarantee 10).
const RejectWrongPartition = "wrong_partition"

// inputTopic is what the processor knows of its commands topic.
type inputTopic struct {
	// partitions is the partition count; 0 when unknown (no check).
	partitions int32
	// id is the Kafka topic ID of this incarnation of the topic; empty
	// when unknown.
	id string
}

// metaTimeout bounds a metadata request of Run or of a partition open.
const metaTimeout = 10 * time.Second

// learnInput reads the commands topic's partition count and topic ID from
// the broker (bypassing the client's cache). On failure what was known
// stays, the failure is logged and returned.
func (p *Processor) learnInput(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, metaTimeout)
	defer cancel()
	md, err := kafka.FreshMetadata(ctx, cl, p.topics.Commands)
	if err == nil {
		d, ok := md[p.topics.Commands]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			err = fmt.Errorf("%w: %s", kafka.ErrTopicMissing, p.topics.Commands)
		case d.Err != nil:
			err = d.Err
		case len(d.Partitions) == 0:
			err = errors.New("no partitions")
		default:
			in := &inputTopic{partitions: int32(len(d.Partitions))}
			if d.ID != [16]byte{} {
				in.id = d.ID.String()
			}
			if old := p.input.Swap(in); old != nil && old.id != in.id {
				p.cfg.Logger.Warn("commands topic recreated: offsets of the old one are not replays",
					"topic", p.topics.Commands, "old_topic_id", old.id, "topic_id", in.id)
			}
			return nil
		}
	}
	p.cfg.Logger.Warn("commands topic unknown; partitions and incarnation not checked",
		"topic", p.topics.Commands, "error", err)
	return err
}

// buildStore opens a partition's store after refreshing what the processor
// knows of the commands topic: goka opens every partition at each
// rebalance, and a deleted and recreated topic makes the group rebalance.
// A commands topic found missing fails the open (and the processor): its
// offsets could not be told from those of the topic it was.
func (p *Processor) buildStore(topic string, partition int32) (storage.Storage, error) {
	if cl := p.meta.Load(); cl != nil {
		if err := p.learnInput(context.Background(), cl); errors.Is(err, kafka.ErrTopicMissing) {
			return nil, fmt.Errorf("open %s/%d: %w", topic, partition, err)
		}
	}
	return p.table.Build(topic, partition)
}

// inputID returns the topic ID of the commands topic, empty when unknown.
func (p *Processor) inputID() string {
	if in := p.input.Load(); in != nil {
		return in.id
	}
	return ""
}

// misrouted reports whether the command in ctx arrived on a partition its
// key does not hash to, and why.
func (p *Processor) misrouted(ctx goka.Context) (string, bool) {
	in := p.input.Load()
	if in == nil || in.partitions <= 0 {
		return "", false
	}
	want := kafka.PartitionOf(ctx.Key(), in.partitions)
	if want == ctx.Partition() {
		return "", false
	}
	return fmt.Sprintf("key %q belongs on partition %d of %d (FNV-1a, sarama's hash partitioner: use kafka.Partitioner), not %d",
		ctx.Key(), want, in.partitions, ctx.Partition()), true
}
