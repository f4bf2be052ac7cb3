package estest

import (
	"encoding/json"
	"sort"
	"time"
)

// rawJSON is pre-encoded JSON embedded in a response as is.
type rawJSON json.RawMessage

// MarshalJSON returns the bytes unchanged.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// refresh makes every write so far visible to search: the searchable set
// becomes a snapshot of the live documents, in index (sequence) order.
// Documents are never mutated after they are stored, so the snapshot
// shares them.
func (ix *index) refresh(now time.Time) {
	ix.lastRefresh = now
	if !ix.dirty && ix.searchByID != nil {
		return
	}
	ix.dirty = false
	ix.refreshGen++
	docs := make([]*doc, 0, len(ix.docs))
	byID := make(map[string]*doc, len(ix.docs))
	for id, d := range ix.docs {
		docs = append(docs, d)
		byID[id] = d
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].seqNo < docs[j].seqNo })
	ix.searchable, ix.searchByID = docs, byID
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
