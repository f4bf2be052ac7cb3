package processors

import (
	"encoding/json"
	"fmt"

	"github.com/b2dc4357/sourced/codecs"
)

// tableCodec is the processor's codec for its own snapshots. It encodes
// like codecs.JSON[codecs.Snapshot] but decodes without the step: the
// processor replaces the step of every snapshot it writes and never reads
// the previous one, and decoding its events (one RawMessage copy each) was
// a tenth of the processor's CPU. Readers of the table topic (the publisher,
// tools) use the full codec.
type tableCodec struct{}

// snapshotSansStep shadows Snapshot.Step with a field that ignores its
// value: encoding/json prefers the shallower field.
type snapshotSansStep struct {
	codecs.Snapshot
	Step skipJSON `json:"step"`
}

type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

func (tableCodec) Encode(v any) ([]byte, error) { return codecs.JSON[codecs.Snapshot]{}.Encode(v) }

func (tableCodec) Decode(b []byte) (any, error) {
	var s snapshotSansStep
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("processors: decode snapshot: %w", err)
	}
	return &s.Snapshot, nil
}
