package processors

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/internal/generations"
)

// DefaultSnapshotCacheBytes bounds the processor's cache of decoded
// snapshots (Config.SnapshotCacheBytes).
const DefaultSnapshotCacheBytes = 64 << 20

// snapshotCache keeps, per aggregate id, the last snapshot the processor
// wrote (or decoded) together with its encoding, so that the next command
// of the aggregate does not decode its own write again: decoding the
// snapshot was a third of the processor's CPU on hot keys.
//
// A cached snapshot is only ever returned for a table value that is byte for
// byte its encoding (bytes.Equal against what the store returns), and it is
// exactly what codecs.DecodeSnapshotSansStep returns for those bytes (see
// cacheable), so the cache cannot change a decision whatever the store holds:
// after a restore, a failover or a write that was never made, the bytes
// differ and the value is decoded. Cached snapshots are shared: nothing may
// modify them (Step does not; their Recent has no spare capacity, so an
// append copies).
//
// It keeps two generations of entries within a byte budget (generations.Map).
type snapshotCache struct {
	mu      sync.Mutex
	entries generations.Map[cacheEntry]
	// check, set by tests, decodes every hit and fails when the cached
	// snapshot differs.
	check bool
}

type cacheEntry struct {
	encoded []byte
	snap    *codecs.Snapshot
}

// size estimates the memory an entry holds: its encoding and, about as
// much again, the decoded snapshot (whose state aliases the encoding).
func (e cacheEntry) size() int { return 2*len(e.encoded) + 256 }

// newSnapshotCache returns a cache of about budget bytes; nil (no cache)
// when budget is negative.
func newSnapshotCache(budget int) *snapshotCache {
	if budget < 0 {
		return nil
	}
	if budget == 0 {
		budget = DefaultSnapshotCacheBytes
	}
	return &snapshotCache{entries: generations.New(budget, cacheEntry.size)}
}

// get returns the snapshot whose encoding is b, if it is cached.
func (c *snapshotCache) get(b []byte) (*codecs.Snapshot, bool, error) {
	if c == nil {
		return nil, false, nil
	}
	id, ok := leadingID(b)
	if !ok {
		return nil, false, nil
	}
	c.mu.Lock()
	e, ok := c.entries.Get(id)
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.encoded, b) {
		return nil, false, nil
	}
	if c.check {
		d, err := codecs.DecodeSnapshotSansStep(b)
		if err != nil {
			return nil, false, fmt.Errorf("check cached snapshot of %s: %w", id, err)
		}
		if !reflect.DeepEqual(d, e.snap) {
			return nil, false, fmt.Errorf("cached snapshot of %s differs from its decoding:\ncached  %#v\ndecoded %#v", id, e.snap, d)
		}
	}
	return e.snap, true, nil
}

// put caches snap, whose encoding is encoded. A snapshot that would not
// decode from encoded to exactly itself is not cached (see cacheable);
// neither is one encoded by another encoder than codecs.JSON.
func (c *snapshotCache) put(snap *codecs.Snapshot, encoded []byte) {
	if c == nil {
		return
	}
	norm, ok := cacheable(snap, encoded)
	if !ok {
		c.drop(snap.AggregateID)
		return
	}
	c.mu.Lock()
	c.entries.Put(snap.AggregateID, cacheEntry{encoded: encoded, snap: norm})
	c.mu.Unlock()
}

// putDecoded caches snap, decoded from encoded by
// codecs.DecodeSnapshotSansStep.
func (c *snapshotCache) putDecoded(snap *codecs.Snapshot, encoded []byte) {
	if c == nil || snap.AggregateID == "" {
		return
	}
	if id, ok := leadingID(encoded); !ok || id != snap.AggregateID {
		return
	}
	snap.Recent = slices.Clip(snap.Recent)
	c.mu.Lock()
	c.entries.Put(snap.AggregateID, cacheEntry{encoded: encoded, snap: snap})
	c.mu.Unlock()
}

// drop forgets the aggregate id.
func (c *snapshotCache) drop(id string) {
	c.mu.Lock()
	c.entries.Drop(id)
	c.mu.Unlock()
}

// leadingID returns the aggregate id an encoded snapshot starts with, as
// codecs.JSON writes it: {"aggregate_id":"<id>", with an id that needs no
// escaping.
func leadingID(b []byte) (string, bool) {
	const prefix = `{"aggregate_id":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return "", false
	}
	rest := b[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return "", false
	}
	id := rest[:end]
	if !plainJSON(id) {
		return "", false
	}
	return string(id), true
}

// plainJSON reports whether s is encoded by encoding/json as itself between
// quotes: printable ASCII without '"', '\\' and the HTML characters it
// escapes.
func plainJSON[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// cacheable returns what codecs.DecodeSnapshotSansStep returns for encoded,
// the encoding of s by codecs.JSON, built from s without decoding; false
// when it cannot tell. Decoding differs from s where encoding/json does not
// round-trip:
//
//   - the step is not decoded (left zero);
//   - the state is the compacted text the encoding holds: s.State itself
//     when it is already compact (checked against encoded; a nil state is
//     the text null);
//   - times lose their monotonic reading and location: UpdatedAt is passed
//     through its own JSON encoding and decoding;
//   - strings that are not valid UTF-8 are altered: such a snapshot is not
//     cached;
//   - slices keep whether they are nil (null) or empty ([]); the copy of
//     Recent has no spare capacity, so appending to it copies.
func cacheable(s *codecs.Snapshot, encoded []byte) (*codecs.Snapshot, bool) {
	if !plainJSON(s.AggregateID) || !utf8.ValidString(s.Input) {
		return nil, false
	}
	for _, r := range s.Recent {
		if !utf8.ValidString(r.CommandID) || !utf8.ValidString(string(r.Status)) || !utf8.ValidString(r.Fingerprint) {
			return nil, false
		}
		if r.Error != nil && (!utf8.ValidString(r.Error.Code) || !utf8.ValidString(r.Error.Message)) {
			return nil, false
		}
	}
	// The encoding starts with the id, the version and the schema, then
	// the state.
	head := make([]byte, 0, 64+len(s.AggregateID))
	head = append(head, `{"aggregate_id":"`...)
	head = append(head, s.AggregateID...)
	head = append(head, `","version":`...)
	head = strconv.AppendUint(head, s.Version, 10)
	head = append(head, `,"schema":`...)
	head = strconv.AppendInt(head, int64(s.Schema), 10)
	head = append(head, `,"state":`...)
	if !bytes.HasPrefix(encoded, head) {
		return nil, false
	}
	state := []byte(s.State)
	if len(state) == 0 {
		state = []byte("null")
	}
	// The state text is s.State when that is a prefix of what follows and
	// the next field follows it: JSON values are self-delimiting, and a
	// number ends at the comma.
	rest := encoded[len(head):]
	if len(rest) <= len(state) || rest[len(state)] != ',' || !bytes.Equal(rest[:len(state)], state) {
		return nil, false
	}
	at, err := s.UpdatedAt.MarshalJSON()
	if err != nil {
		return nil, false
	}
	var updated time.Time
	if err := updated.UnmarshalJSON(at); err != nil {
		return nil, false
	}
	n := *s
	n.State = rest[:len(state):len(state)]
	n.UpdatedAt = updated
	n.Recent = slices.Clip(s.Recent)
	n.Step = codecs.Step{}
	return &n, true
}
