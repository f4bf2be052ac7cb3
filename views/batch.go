package views

import (
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record locates one source message, for dead letters.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     []byte
}

// recordOf locates r for a dead letter. It is called only for a record
// that becomes one: the key's string is an allocation per record.
func recordOf(r *kgo.Record) Record {
	return Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: r.Value}
}

// pendingOp is an operation waiting in a batch with the record it came from.
type pendingOp struct {
	op    Op
	month string      // event views: the monthly index
	src   *kgo.Record // for a dead letter (recordOf)
}

// batch collects operations, keeping only the newest version per document:
// many updates of one document in a batch become one write.
type batch struct {
	ops   []pendingOp
	index map[docKey]int // document → position in ops
	bytes int
	// records counts every record that reached the batch, including those
	// that were coalesced away or projected to nothing.
	records int
	// dead are records that could not be projected.
	dead []DeadLetter
	// coalesced counts operations replaced by a newer version.
	coalesced int
}

func newBatch(capacity int) *batch {
	return &batch{ops: make([]pendingOp, 0, capacity), index: make(map[docKey]int, capacity)}
}

// docKey identifies a document in a batch: its id within its monthly
// index (month is "" for state views). A struct rather than a joined
// string, so that add allocates nothing for the key.
type docKey struct{ month, id string }

// add puts a projection into the batch. It returns an error when the
// document cannot be encoded.
func (b *batch) add(p Projection, src *kgo.Record) error {
	op, _, err := encodeOp(p, nil)
	if err != nil {
		b.records++
		return err
	}
	b.addOp(p.Action, op, p.Month, src)
	return nil
}

// encodeOp turns a projection into the store operation it asks for,
// encoding its document (nothing for Skip and Remove). A document that
// implements DocAppender encodes itself, at the end of arena (which it
// returns grown; the document is a capped slice of it, so arena can be
// appended to again); any other goes through encoding/json.
func encodeOp(p Projection, arena []byte) (Op, []byte, error) {
	op := Op{ID: p.ID, Version: p.Version, Delete: p.Action == Remove}
	if p.Action != Put {
		return op, arena, nil
	}
	var err error
	if a, ok := p.Doc.(DocAppender); ok {
		start := len(arena)
		var out []byte
		out, err = a.AppendJSON(arena)
		if err == nil {
			arena = out
			op.Doc = arena[start:len(arena):len(arena)]
		}
	} else {
		op.Doc, err = json.Marshal(p.Doc)
	}
	if err != nil {
		return op, arena, &projectError{code: "invalid", err: fmt.Errorf("encode document %s: %w", p.ID, err)}
	}
	return op, arena, nil
}

// addOp puts an encoded operation (from encodeOp) into the batch, keeping
// the newest version of its document.
func (b *batch) addOp(action Action, op Op, month string, src *kgo.Record) {
	b.records++
	if action == Skip {
		return
	}
	key := docKey{month: month, id: op.ID}
	if i, ok := b.index[key]; ok {
		b.coalesced++
		if b.ops[i].op.Version >= op.Version {
			return // an older or equal version: the batch already holds newer
		}
		b.bytes += len(op.Doc) - len(b.ops[i].op.Doc)
		b.ops[i] = pendingOp{op: op, month: month, src: src}
		return
	}
	b.index[key] = len(b.ops)
	b.ops = append(b.ops, pendingOp{op: op, month: month, src: src})
	b.bytes += len(op.Doc) + len(op.ID) + 64
}

// reset empties the batch for reuse.
func (b *batch) reset() {
	clear(b.index)
	for i := range b.ops {
		b.ops[i] = pendingOp{}
	}
	b.ops = b.ops[:0]
	b.bytes = 0
	b.records = 0
	b.coalesced = 0
	clear(b.dead)
	b.dead = b.dead[:0]
}
