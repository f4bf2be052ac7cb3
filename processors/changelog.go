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
// hold the id of a deleted topic.
func Changelog(cl *kgo.Client, timeout time.Duration) func(topic string, partition int32) (state.Changelog, error) {
	adm := kadm.NewClient(cl)
	return func(topic string, partition int32) (state.Changelog, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		details, err := kafka.FreshMetadata(ctx, cl, topic)
		if err != nil {
			return state.Changelog{}, fmt.Errorf("identify changelog %s: %w", topic, err)
		}
		d, ok := details[topic]
		if !ok || d.Err != nil {
			return state.Changelog{}, fmt.Errorf("identify changelog %s: %w", topic, errors.Join(kafka.ErrTopicMissing, d.Err))
		}
		if !d.Partitions[partition] {
			return state.Changelog{}, fmt.Errorf("identify changelog %s/%d: %w: partition not found", topic, partition, kafka.ErrTopicMissing)
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return state.Changelog{}, fmt.Errorf("identify changelog %s: end offsets: %w", topic, err)
		}
		o, ok := ends.Lookup(topic, partition)
		if ok && errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return state.Changelog{}, fmt.Errorf("identify changelog %s/%d: %w: %w", topic, partition, kafka.ErrTopicMissing, o.Err)
		}
		if !ok || o.Err != nil {
			return state.Changelog{}, fmt.Errorf("identify changelog %s/%d: end offset: %w", topic, partition, errors.Join(errors.New("not listed"), o.Err))
		}
		return state.Changelog{ID: d.ID.String(), End: o.Offset}, nil
	}
}
