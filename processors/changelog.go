package processors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/state"
)

// Changelog returns a state.Config.Changelog function that identifies a
// changelog partition by its Kafka topic id and high watermark, so a store
// built from a topic that was since deleted and recreated is wiped. It asks
// the broker directly, bypassing the client's metadata cache, which may still
// hold the id of a deleted topic. The partitions of a topic opened at the
// same time (every store of a restart) share one metadata and one end
// offsets request, each made after every call it answers.
func Changelog(cl *kgo.Client, timeout time.Duration) func(topic string, partition int32) (state.Changelog, error) {
	adm := kadm.NewClient(cl)
	lookups := &batchedByKey[changelogTopic]{fetch: func(topic string) (changelogTopic, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return lookupChangelog(ctx, cl, adm, topic)
	}}
	return func(topic string, partition int32) (state.Changelog, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		t, err := lookups.get(ctx, topic)
		if err != nil {
			return state.Changelog{}, err
		}
		d := t.meta
		if !d.Partitions[partition] {
			return state.Changelog{}, fmt.Errorf("identify changelog %s/%d: %w: partition not found", topic, partition, kafka.ErrTopicMissing)
		}
		o, ok := t.ends.Lookup(topic, partition)
		if ok && errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return state.Changelog{}, fmt.Errorf("identify changelog %s/%d: %w: %w", topic, partition, kafka.ErrTopicMissing, o.Err)
		}
		if !ok || o.Err != nil {
			return state.Changelog{}, fmt.Errorf("identify changelog %s/%d: end offset: %w", topic, partition, errors.Join(errors.New("not listed"), o.Err))
		}
		return state.Changelog{ID: d.ID.String(), End: o.Offset}, nil
	}
}

// changelogTopic is what the broker said of a changelog topic: its fresh
// metadata and the end offsets of its partitions.
type changelogTopic struct {
	meta kafka.TopicMetadata
	ends kadm.ListedOffsets
}

// lookupChangelog asks for the metadata and the end offsets of topic, both
// at once.
func lookupChangelog(ctx context.Context, cl *kgo.Client, adm *kadm.Client, topic string) (changelogTopic, error) {
	var (
		ends    kadm.ListedOffsets
		endsErr error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		ends, endsErr = adm.ListEndOffsets(ctx, topic)
	}()
	details, err := kafka.FreshMetadata(ctx, cl, topic)
	<-done
	if err != nil {
		return changelogTopic{}, fmt.Errorf("identify changelog %s: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok || d.Err != nil {
		return changelogTopic{}, fmt.Errorf("identify changelog %s: %w", topic, errors.Join(kafka.ErrTopicMissing, d.Err))
	}
	if endsErr != nil {
		return changelogTopic{}, fmt.Errorf("identify changelog %s: end offsets: %w", topic, endsErr)
	}
	return changelogTopic{meta: d, ends: ends}, nil
}
