package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetTimeout bounds one offset lookup, as sarama's read timeout (30 s by
// default) bounded it.
const offsetTimeout = 30 * time.Second

// ConcurrentOffsets wraps a goka topic manager builder: the managers it
// builds answer GetOffset for the oldest and the newest offset through a
// franz-go client made with opts (closed with the manager), and
// everything else through the wrapped builder's manager.
//
// At start, each partition table asks for both offsets of its changelog
// (goka's findOffsetToLoad) before it can serve. sarama's client sends one
// request at a time to a broker and holds it for the whole round trip, so
// the tables of a replica queued behind each other: two round trips per
// partition, one after the other, on every clean restart. franz-go sends
// them at once on one connection.
//
// The answers are the same: the partition's log start offset and high
// watermark (read uncommitted, sarama's default), or the partition's
// error.
func ConcurrentOffsets(build goka.TopicManagerBuilder, opts []kgo.Opt) goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		tm, err := build(brokers)
		if err != nil {
			return nil, err
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			_ = tm.Close()
			return nil, fmt.Errorf("topic manager: offsets client: %w", err)
		}
		return &offsetsManager{TopicManager: tm, cl: cl}, nil
	}
}

// offsetsManager is goka's topic manager with GetOffset through franz-go.
type offsetsManager struct {
	goka.TopicManager
	cl *kgo.Client
}

// GetOffset returns the oldest (sarama.OffsetOldest) or newest
// (sarama.OffsetNewest) offset of a partition; other times go to the
// wrapped manager.
func (m *offsetsManager) GetOffset(topic string, partition int32, at int64) (int64, error) {
	if at != sarama.OffsetOldest && at != sarama.OffsetNewest {
		return m.TopicManager.GetOffset(topic, partition, at)
	}
	ctx, cancel := context.WithTimeout(context.Background(), offsetTimeout)
	defer cancel()
	for {
		o, err := listOffset(ctx, m.cl, topic, partition, at)
		// franz-go retries a request on a stale leader or an unknown
		// partition (refreshing its metadata first) before it gives up; a
		// partition answering another retriable error (a leader being
		// elected, an offset not yet available) is retried here, as
		// sarama's client retried it after refreshing its metadata.
		if err == nil || !kerr.IsRetriable(err) || errors.Is(err, kerr.UnknownTopicOrPartition) {
			return o, err
		}
		select {
		case <-ctx.Done():
			return o, err
		case <-time.After(offsetRetryBackoff):
		}
	}
}

// offsetRetryBackoff is the pause before asking again for an offset whose
// partition answered a retriable error.
const offsetRetryBackoff = 100 * time.Millisecond

// Close closes the franz-go client and the wrapped manager.
func (m *offsetsManager) Close() error {
	m.cl.Close()
	return m.TopicManager.Close()
}

// listOffset asks the partition's leader for the offset of a partition at
// a ListOffsets timestamp: -2 for the log start offset, -1 for the high
// watermark (read uncommitted). franz-go routes the request to the leader
// and retries what is retriable; the partition's own error is returned
// wrapped.
func listOffset(ctx context.Context, cl *kgo.Client, topic string, partition int32, at int64) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = at
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return -1, fmt.Errorf("list offset %d of %s/%d: %w", at, topic, partition, err)
	}
	for _, t := range resp.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition != partition {
				continue
			}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return -1, fmt.Errorf("list offset %d of %s/%d: %w", at, topic, partition, err)
			}
			return p.Offset, nil
		}
	}
	return -1, fmt.Errorf("list offset %d of %s/%d: partition missing from the answer", at, topic, partition)
}
