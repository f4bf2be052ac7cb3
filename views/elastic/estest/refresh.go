package estest

import (
	"sort"
	"time"
)

// refresh makes every write so far visible to search, on every shard.
func (ix *index) refresh(now time.Time) {
	ix.lastRefresh = now
	if len(ix.dirtyShards) == 0 && ix.searchByID != nil {
		return
	}
	byID := make(map[string]*doc, len(ix.docs))
	for id, d := range ix.docs {
		byID[id] = d
	}
	clear(ix.dirtyShards)
	ix.publish(byID)
}

// refreshShards refreshes only the given shards, as refresh=true on a
// write does: writes on other shards stay invisible to search.
func (ix *index) refreshShards(now time.Time, shards map[int]bool) {
	if ix.shards() == 1 {
		ix.refresh(now)
		return
	}
	changed := false
	for sh := range shards {
		if ix.dirtyShards[sh] {
			changed = true
		}
	}
	if !changed && ix.searchByID != nil {
		return
	}
	byID := make(map[string]*doc, len(ix.searchByID))
	for id, d := range ix.searchByID {
		if !shards[d.shard] {
			byID[id] = d
		}
	}
	for id, d := range ix.docs {
		if shards[d.shard] {
			byID[id] = d
		}
	}
	for sh := range shards {
		delete(ix.dirtyShards, sh)
	}
	ix.publish(byID)
}

// publish installs a new searchable set, in index (sequence) order.
// Documents are never mutated after they are stored, so the set shares
// them with the live map.
func (ix *index) publish(byID map[string]*doc) {
	docs := make([]*doc, 0, len(byID))
	for _, d := range byID {
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].seqNo < docs[j].seqNo })
	ix.searchable, ix.searchByID = docs, byID
	ix.refreshGen++
}

// broadcastShards is the _shards of a broadcast action (refresh, search,
// count) over targets.
func broadcastShards(targets []*index, withSkipped bool) map[string]any {
	total, ok := 0, 0
	for _, ix := range targets {
		total += ix.shards() * (1 + ix.replicas())
		ok += ix.shards()
	}
	m := map[string]any{"total": total, "successful": ok, "failed": 0}
	if withSkipped {
		m["total"], m["skipped"] = ok, 0
	}
	return m
}

// refreshIndices serves POST /_refresh and /{index}/_refresh.
func (c *call) refreshIndices() reply {
	expr := ""
	if len(c.parts) == 2 {
		expr = c.parts[0]
	}
	targets, err := c.s.resolve(expr, c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	now := c.s.opts.Clock()
	for _, ix := range targets {
		ix.refresh(now)
	}
	return ok(map[string]any{"_shards": broadcastShards(targets, false)})
}
