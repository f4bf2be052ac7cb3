package bleve

import (
	"strings"

	"github.com/b2dc4357/sourced/internal/generations"
)

// recentVersions is how many ids, at least, an index remembers the held
// version of (versionCache): a write to one of them is checked without
// reading bleve's doc values. At most twice as many are kept.
const recentVersions = 16_384

// versionCache remembers what an index holds (version, deleted) for the
// ids written or checked most recently, so that the version check of a
// write to a recently touched document, the steady state of a state view,
// does not read the index. Reading a version from bleve's doc values
// decodes a whole chunk of them (about a thousand documents) and, when the
// previous read was in another segment, allocates the chunk's buffers
// again: that was a fifth of everything `sourced dev` allocated.
//
// It keeps two generations of ids (generations.Map), so memory stays
// bounded under any churn. It holds only what the index itself holds:
// refresh adds a batch's ids after bleve applied it, and a failed batch
// clears it. Guarded by index.mu.
type versionCache struct {
	capacity int
	ids      generations.Map[*heldVersion]
}

// heldVersion is what the index holds for one id. The map holds pointers
// so that a remembered id is updated in place, keeping its cloned key
// rather than the caller's string.
type heldVersion struct {
	version uint64
	deleted bool
}

// newVersionCache returns an empty cache; its maps are made at the first
// put, so an index never written (last month's, of an event view) costs
// none.
func newVersionCache(capacity int) *versionCache {
	c := &versionCache{capacity: capacity}
	c.clear()
	return c
}

// get returns what the index holds for id, if remembered.
func (c *versionCache) get(id string) (held, bool) {
	v, ok := c.ids.Get(id)
	if !ok {
		return held{}, false
	}
	return held{version: v.version, deleted: v.deleted}, true
}

// put remembers h's version and deletion (not its source) for id.
func (c *versionCache) put(id string, h held) {
	if v, ok := c.ids.Get(id); ok {
		v.version, v.deleted = h.version, h.deleted
		return
	}
	// ids may point into a larger buffer, which the key must not keep.
	c.ids.Put(strings.Clone(id), &heldVersion{version: h.version, deleted: h.deleted})
}

// remember puts what a batch bleve has applied left for each of its ids.
func (c *versionCache) remember(batch map[string]held) {
	for id, h := range batch {
		c.put(id, h)
	}
}

// clear forgets everything: the index's content is no longer known.
func (c *versionCache) clear() {
	// A generation holds up to capacity ids: the budget counts both.
	c.ids = generations.New(2*c.capacity, func(*heldVersion) int { return 1 })
}
