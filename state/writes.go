package state

import (
	"fmt"
	"time"
)

// writes tracks the changelog writes of one topic that are not yet
// acknowledged (see Builder.Begin).
type writes struct {
	// next is the sequence number of the next write begun.
	next uint64
	// pending holds the sequence numbers of writes begun and not done.
	pending map[uint64]struct{}
	// changed is closed and replaced when a write is done while a closing
	// store waits (waiters > 0), waking it.
	changed chan struct{}
	waiters int
}

// pendingBefore reports whether a write numbered below mark is still
// pending.
func (w *writes) pendingBefore(mark uint64) bool {
	for seq := range w.pending {
		if seq < mark {
			return true
		}
	}
	return false
}

// Begin records that a write to topic, the changelog of the stores of
// topic, was sent and is not yet acknowledged, and returns the func to call
// once it is: with nil when Kafka acknowledged it, with the error when it
// failed. An error taints the Builder (see Taint) before the write stops
// counting, so a store waiting for it sees the taint.
//
// A store of topic that closes while a write to topic begun before its
// close is unacknowledged waits for it at most Config.AckWait, and is left
// dirty if it is still not acknowledged then: the store may hold a value
// Kafka lacks (DESIGN.md guarantee 3). The writes are counted per topic,
// not per partition (a producer does not say where a key goes before it is
// acknowledged), so such a store may be left dirty for another partition's
// write; that costs a restore, never a lost write.
//
// Writes to a topic the Builder built no store of are not counted; done
// only taints on error. done must be called exactly once. Begin and done
// are safe for concurrent use.
func (b *Builder) Begin(topic string) (done func(error)) {
	b.wmu.Lock()
	w := b.writes[topic]
	if w == nil {
		b.wmu.Unlock()
		return func(err error) {
			if err != nil {
				b.Taint(err)
			}
		}
	}
	seq := w.next
	w.next++
	w.pending[seq] = struct{}{}
	b.wmu.Unlock()
	return func(err error) {
		if err != nil {
			b.Taint(err)
		}
		b.wmu.Lock()
		delete(w.pending, seq)
		if w.waiters > 0 {
			close(w.changed)
			w.changed = make(chan struct{})
		}
		b.wmu.Unlock()
	}
}

// track starts counting the writes to topic (see Begin).
func (b *Builder) track(topic string) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.writes[topic] == nil {
		b.writes[topic] = &writes{pending: map[uint64]struct{}{}, changed: make(chan struct{})}
	}
}

// acknowledged waits up to Config.AckWait until every write to topic begun
// before the call is done, and reports whether they all are.
func (b *Builder) acknowledged(topic string) error {
	b.wmu.Lock()
	w := b.writes[topic]
	if w == nil {
		b.wmu.Unlock()
		return nil
	}
	mark := w.next
	w.waiters++
	defer func() {
		b.wmu.Lock()
		w.waiters--
		b.wmu.Unlock()
	}()
	var timeout <-chan time.Time
	for w.pendingBefore(mark) {
		ch := w.changed
		b.wmu.Unlock()
		if timeout == nil {
			t := time.NewTimer(b.cfg.AckWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-timeout:
			return fmt.Errorf("a changelog write to %s is not acknowledged after %v", topic, b.cfg.AckWait)
		}
		b.wmu.Lock()
	}
	b.wmu.Unlock()
	return nil
}
