package kafka

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errFenced fails every emit completed after an earlier emit failed.
var errFenced = errors.New("kafka: producer fenced after an earlier produce failed")

// kgoProducer is goka's Producer on franz-go instead of sarama.
//
// sarama's idempotent producer is not safe for what goka needs across a
// broker restart: retried batches trip its own "message out of sequence
// added to a batch" assertion, it fails those messages, bumps its producer
// epoch and goes on producing the next ones. A later snapshot of a key then
// lands after a failed one (a version gap in the changelog), and goka,
// which commits the highest offset marked, skips the failed command. The
// soak test with a broker restart showed both. franz-go keeps batches
// intact on retry and retries through a broker restart.
//
// As a second line, the producer fences itself: once one record failed,
// every record it completes afterwards is reported as failed too, so goka
// commits no input offset past the failure and the processor restarts from
// it.
type kgoProducer struct {
	cl     *kgo.Client
	failed atomic.Pointer[error]
}

// ProducerBuilder returns a goka producer builder on franz-go with the
// connection options opts (Connection.KgoOpts): goka's Producer on
// franz-go instead of sarama, acks from all in-sync replicas, keys placed as
// goka places them, and fenced after a failure (see kgoProducer).
func ProducerBuilder(opts []kgo.Opt) goka.ProducerBuilder {
	return func(brokers []string, clientID string, _ func() hash.Hash32) (goka.Producer, error) {
		all := []kgo.Opt{
			kgo.SeedBrokers(brokers...),
			kgo.ClientID(clientID),
			kgo.RecordPartitioner(Partitioner()),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(time.Millisecond),
			// Records wait through a broker outage up to this long
			// before failing. Then the processor fails, restarts with a
			// new producer, and goes on from the first failed input: a
			// broker that lost the producer's sequence state (the embedded
			// one after a SIGKILL) answers its retries with
			// OUT_OF_ORDER_SEQUENCE_NUMBER until then.
			kgo.RecordDeliveryTimeout(30 * time.Second),
		}
		cl, err := kgo.NewClient(append(all, opts...)...)
		if err != nil {
			return nil, fmt.Errorf("producer: %w", err)
		}
		return &kgoProducer{cl: cl}, nil
	}
}

// Emit produces a record and returns a promise finished with its offset.
func (p *kgoProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

// EmitWithHeaders produces a record with headers.
func (p *kgoProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	rec := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for k, v := range headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: v})
	}
	if f := p.failed.Load(); f != nil {
		finish(nil, fmt.Errorf("%w: %w", errFenced, *f))
		return promise
	}
	p.cl.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
		if err != nil {
			p.failed.CompareAndSwap(nil, &err)
			finish(nil, err)
			return
		}
		if f := p.failed.Load(); f != nil {
			finish(nil, fmt.Errorf("%w: %w", errFenced, *f))
			return
		}
		finish(&sarama.ProducerMessage{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, nil)
	})
	return promise
}

// Close waits up to a minute for buffered records, then closes the client.
func (p *kgoProducer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := p.cl.Flush(ctx)
	p.cl.Close()
	if err != nil {
		return fmt.Errorf("producer: flush: %w", err)
	}
	return nil
}
