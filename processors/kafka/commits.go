package kafka

import (
	"context"
	"sort"
	"sync"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// OrderedCommits wraps goka's consumer group builder so that a partition's
// offset is marked (and so committed) only up to the oldest message still
// in flight (DESIGN.md guarantee 8).
//
// goka marks a message's offset as soon as that message's own writes are
// acknowledged, and sarama commits the highest offset marked. A message
// whose writes finish early (a duplicate's result) could so commit past an
// earlier one whose snapshot write is still in flight; if that write then
// fails, the processor stops and restarts after it, and the accepted
// command's step is lost though its result said accepted. The wrapper sees
// every message before goka does, in offset order, and turns goka's
// marks into a mark of the first offset not yet completed.
func OrderedCommits(build goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := build(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return orderedGroup{cg}, nil
	}
}

type orderedGroup struct{ sarama.ConsumerGroup }

// Consume runs one session (one generation) of the group with handler h.
func (g orderedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &orderedHandler{inner: h})
}

// orderedHandler hands goka an orderedSession in place of sarama's for one
// session: sarama passes the same session to Setup, every ConsumeClaim and
// Cleanup.
type orderedHandler struct {
	inner sarama.ConsumerGroupHandler
	sess  *orderedSession // set by Setup, before any ConsumeClaim
}

func (h *orderedHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.sess = &orderedSession{ConsumerGroupSession: s, parts: map[topicPartition]*inflight{}}
	return h.inner.Setup(h.sess)
}

func (h *orderedHandler) Cleanup(sarama.ConsumerGroupSession) error { return h.inner.Cleanup(h.sess) }

// claimBuffer is how many messages wait between sarama's claim channel and
// goka's (sarama buffers more before it).
const claimBuffer = 64

// ConsumeClaim records every message of claim as in flight before goka
// reads it. The copying goroutine ends when goka's ConsumeClaim returned
// (the session ends, or the partition stops) or the claim is closed.
func (h *orderedHandler) ConsumeClaim(_ sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	f := h.sess.partition(claim.Topic(), claim.Partition())
	out := make(chan *sarama.ConsumerMessage, claimBuffer)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		in := claim.Messages()
		for {
			select {
			case m, ok := <-in:
				if !ok {
					return
				}
				f.deliver(m.Offset)
				select {
				case out <- m:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	err := h.inner.ConsumeClaim(h.sess, orderedClaim{ConsumerGroupClaim: claim, out: out})
	close(stop)
	<-done
	return err
}

type orderedClaim struct {
	sarama.ConsumerGroupClaim
	out chan *sarama.ConsumerMessage
}

func (c orderedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.out }

type topicPartition struct {
	topic     string
	partition int32
}

// orderedSession is sarama's session with marks held back to the oldest
// message in flight of each partition.
type orderedSession struct {
	sarama.ConsumerGroupSession
	mu    sync.Mutex // guards parts
	parts map[topicPartition]*inflight
}

func (s *orderedSession) partition(topic string, partition int32) *inflight {
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := topicPartition{topic, partition}
	f := s.parts[tp]
	if f == nil {
		f = &inflight{}
		s.parts[tp] = f
	}
	return f
}

// MarkOffset records that the message before offset completed and marks
// the offset up to which every delivered message completed.
func (s *orderedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if mark, ok := s.partition(topic, partition).complete(offset - 1); ok {
		s.ConsumerGroupSession.MarkOffset(topic, partition, mark, metadata)
	}
}

// MarkMessage is MarkOffset of the offset after msg.
func (s *orderedSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}

// inflight tracks one partition's messages delivered to goka and not yet
// completed, in offset order.
type inflight struct {
	mu      sync.Mutex
	pending []pendingOffset // ascending
	highest int64           // the highest offset completed, +1
	marked  int64           // the last offset marked
}

type pendingOffset struct {
	offset int64
	done   bool
}

func (f *inflight) deliver(offset int64) {
	f.mu.Lock()
	f.pending = append(f.pending, pendingOffset{offset: offset})
	f.mu.Unlock()
}

// complete records offset as completed and returns the offset to mark (the
// next to consume: every delivered message before it completed), ok false
// when that did not advance. Offsets are not contiguous (compaction,
// transaction markers): only delivered messages hold the mark back.
func (f *inflight) complete(offset int64) (mark int64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := sort.Search(len(f.pending), func(i int) bool { return f.pending[i].offset >= offset })
	if i < len(f.pending) && f.pending[i].offset == offset {
		f.pending[i].done = true
	}
	f.highest = max(f.highest, offset+1)
	n := 0
	for n < len(f.pending) && f.pending[n].done {
		n++
	}
	f.pending = f.pending[n:]
	mark = f.highest
	if len(f.pending) > 0 {
		mark = min(mark, f.pending[0].offset)
	}
	if mark <= f.marked {
		return 0, false
	}
	f.marked = mark
	return mark, true
}
