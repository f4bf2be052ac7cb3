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

// encodedSnapshot is a snapshot the processor already encoded (to check its
// size): tableCodec returns the bytes instead of encoding it again.
type encodedSnapshot struct {
	snap    *codecs.Snapshot
	encoded []byte
}

func (tableCodec) Encode(v any) ([]byte, error) {
	if e, ok := v.(encodedSnapshot); ok {
		return e.encoded, nil
	}
	return codecs.JSON[codecs.Snapshot]{}.Encode(v)
}

func (tableCodec) Decode(b []byte) (any, error) {
	var s snapshotSansStep
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("processors: decode snapshot: %w", err)
	}
	return &s.Snapshot, nil
}

// stepCodec is the publisher's codec for the table topic: it decodes only
// what the publisher reads (the aggregate id, the version and the step) and
// skips the state and the recent commands, which are most of a snapshot's
// bytes for aggregates with large state.
type stepCodec struct{}

// snapshotStepOnly shadows the fields the publisher does not read.
type snapshotStepOnly struct {
	codecs.Snapshot
	State  skipJSON `json:"state"`
	Recent skipJSON `json:"recent"`
}

func (stepCodec) Encode(v any) ([]byte, error) { return codecs.JSON[codecs.Snapshot]{}.Encode(v) }

func (stepCodec) Decode(b []byte) (any, error) {
	var s snapshotStepOnly
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("processors: decode snapshot step: %w", err)
	}
	return &s.Snapshot, nil
}
