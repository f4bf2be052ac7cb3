package processors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/b2dc4357/sourced/internal/generations"
)

// stateCache keeps, per aggregate id, the decoded state the processor
// decided last and the encoding it was written with, for aggregates whose
// state survives a JSON round trip (Aggregate.CacheDecodedStates): deciding
// a command on a large aggregate was mostly decoding its state.
//
// A state is taken out of the cache to be used (appliers may modify what it
// shares), and only for a snapshot state that is byte for byte its encoding
// at the current schema; decoding those bytes gives the same value (the
// aggregate's promise), so the cache cannot change a decision. Like
// snapshotCache it keeps two generations within a byte budget. A nil
// *stateCache caches nothing.
type stateCache struct {
	mu      sync.Mutex
	entries generations.Map[stateEntry]
	// check, set by tests, decodes every hit and fails the command when
	// the cached state differs.
	check bool
}

type stateEntry struct {
	schema  int
	encoded []byte
	state   any
}

// size estimates the memory an entry holds: its encoding and about twice
// as much again decoded.
func (e stateEntry) size() int { return 3*len(e.encoded) + 256 }

// newStateCache returns a cache of about budget bytes; nil (no cache) when
// budget is negative.
func newStateCache(budget int) *stateCache {
	if budget < 0 {
		return nil
	}
	if budget == 0 {
		budget = DefaultSnapshotCacheBytes
	}
	return &stateCache{entries: generations.New(budget, stateEntry.size)}
}

// take removes the state of aggregate id from the cache and returns it when
// it is the decoding of encoded, written with schema (0 counts as 1) and
// schema is current (no upcasting). decode is the aggregate's DecodeState,
// for the check.
func (c *stateCache) take(id string, schema, current int, encoded json.RawMessage, decode func(int, json.RawMessage) (any, error)) (any, bool, error) {
	if c == nil {
		return nil, false, nil
	}
	if schema == 0 {
		schema = 1
	}
	c.mu.Lock()
	e, ok := c.entries.Take(id)
	c.mu.Unlock()
	if !ok || schema != current || e.schema != schema || !bytes.Equal(e.encoded, encoded) {
		return nil, false, nil
	}
	if c.check {
		d, err := decode(schema, encoded)
		if err != nil {
			return nil, false, fmt.Errorf("check cached state of %s: %w", id, err)
		}
		if !reflect.DeepEqual(d, e.state) {
			return nil, false, fmt.Errorf("cached state of %s differs from its decoding:\ncached  %#v\ndecoded %#v", id, e.state, d)
		}
	}
	return e.state, true, nil
}

// put caches state, whose encoding at schema is encoded, for aggregate id.
// Nothing may modify state or encoded afterwards.
func (c *stateCache) put(id string, schema int, encoded []byte, state any) {
	if c == nil {
		return
	}
	e := stateEntry{schema: schema, encoded: encoded, state: state}
	c.mu.Lock()
	c.entries.Put(id, e)
	c.mu.Unlock()
}
