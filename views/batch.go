package views

import (
	"encoding/json"
	"fmt"
)

// Record locates one source message, for dead letters.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     []byte
}

// pendingOp is an operation waiting in a batch with the record it came from.
type pendingOp struct {
	op     Op
	month  string // event views: the monthly index
	record Record
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

// add puts a projection into the batch. It returns the document's encoded
// size, or an error when the document cannot be encoded.
func (b *batch) add(p Projection, rec Record) error {
	b.records++
	if p.Action == Skip {
		return nil
	}
	op := Op{ID: p.ID, Version: p.Version, Delete: p.Action == Remove}
	if !op.Delete {
		doc, err := json.Marshal(p.Doc)
		if err != nil {
			return &projectError{code: "invalid", err: fmt.Errorf("encode document %s: %w", p.ID, err)}
		}
		op.Doc = doc
	}
	key := docKey{month: p.Month, id: p.ID}
	if i, ok := b.index[key]; ok {
		b.coalesced++
		if b.ops[i].op.Version >= op.Version {
			return nil // an older or equal version: the batch already holds newer
		}
		b.bytes += len(op.Doc) - len(b.ops[i].op.Doc)
		b.ops[i] = pendingOp{op: op, month: p.Month, record: rec}
		return nil
	}
	b.index[key] = len(b.ops)
	b.ops = append(b.ops, pendingOp{op: op, month: p.Month, record: rec})
	b.bytes += len(op.Doc) + len(op.ID) + 64
	return nil
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
