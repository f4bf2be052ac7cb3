package processors

import (
	"fmt"

	"github.com/b2dc4357/sourced/codecs"
)

// tableCodec is the processor's codec for its own snapshots. It encodes
// like codecs.JSON[codecs.Snapshot] but decodes without the step
// (codecs.DecodeSnapshotSansStep): the processor replaces the step of every
// snapshot it writes and never reads the previous one, and decoding its
// events (one RawMessage copy each) was a tenth of the processor's CPU.
// Readers of the table topic (the publisher, tools) use other codecs.
//
// It remembers the snapshots it encodes in cache (nil: none) and answers a
// decode of the same bytes from it (snapshotCache).
type tableCodec struct {
	cache *snapshotCache
}

// encodedSnapshot is a snapshot the processor already encoded (to check its
// size): tableCodec returns the bytes instead of encoding it again.
type encodedSnapshot struct {
	snap    *codecs.Snapshot
	encoded []byte
}

func (c tableCodec) Encode(v any) ([]byte, error) {
	if e, ok := v.(encodedSnapshot); ok {
		c.cache.put(e.snap, e.encoded)
		return e.encoded, nil
	}
	return codecs.JSON[codecs.Snapshot]{}.Encode(v)
}

func (c tableCodec) Decode(b []byte) (any, error) {
	if s, ok, err := c.cache.get(b); ok || err != nil {
		if err != nil {
			return nil, fmt.Errorf("processors: decode snapshot: %w", err)
		}
		return s, nil
	}
	s, err := codecs.DecodeSnapshotSansStep(b)
	if err != nil {
		return nil, fmt.Errorf("processors: decode snapshot: %w", err)
	}
	c.cache.putDecoded(s, b)
	return s, nil
}
