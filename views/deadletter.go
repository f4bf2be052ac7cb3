package views

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
)

// KafkaDeadLetters stores dead letters in a topic (the aggregate's
// dead-letter topic), keyed like the original record, with the value
// unchanged and the reason in the codecs.Header* headers.
func KafkaDeadLetters(cl *kgo.Client, topic string) DeadLetterFunc {
	return func(ctx context.Context, letters []DeadLetter) error {
		recs := make([]*kgo.Record, 0, len(letters))
		for _, d := range letters {
			recs = append(recs, &kgo.Record{
				Topic: topic,
				Key:   []byte(d.Key),
				Value: d.Value,
				Headers: []kgo.RecordHeader{
					{Key: codecs.HeaderErrorCode, Value: []byte(d.Code)},
					{Key: codecs.HeaderError, Value: []byte(d.Reason)},
					{Key: codecs.HeaderSourceTopic, Value: []byte(d.Topic)},
					{Key: codecs.HeaderSourcePartition, Value: []byte(strconv.Itoa(int(d.Partition)))},
					{Key: codecs.HeaderSourceOffset, Value: []byte(strconv.FormatInt(d.Offset, 10))},
					{Key: codecs.HeaderView, Value: []byte(d.View)},
				},
			})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("produce %d dead letters to %s: %w", len(recs), topic, err)
		}
		return nil
	}
}
