// Package generations holds Map, a map bounded by dropping a whole
// generation of entries at a time: the eviction of the processor's caches
// and of the embedded view store's version cache.
package generations

// Map is a map from string keys to E bounded by a budget: entries go to the
// current generation; when it holds more than half the budget it becomes
// the old one and the old one is dropped whole, so memory stays bounded
// under any churn without per-entry eviction. A hit in the old generation
// (Get) moves the entry back to the current one. Each entry costs size(e)
// of the budget (1 for a budget counted in entries). A Map is not safe for
// concurrent use; the zero Map is unusable: make one with New.
type Map[E any] struct {
	budget   int
	size     func(E) int
	cur, old map[string]E
	curBytes int
}

// New returns an empty Map. Its maps are made at the first Put, so a Map
// never written costs nothing.
func New[E any](budget int, size func(E) int) Map[E] {
	return Map[E]{budget: budget, size: size}
}

// Get returns the entry of id, moving it to the current generation.
func (g *Map[E]) Get(id string) (E, bool) {
	if e, ok := g.cur[id]; ok {
		return e, true
	}
	e, ok := g.old[id]
	if ok {
		delete(g.old, id)
		g.Put(id, e)
	}
	return e, ok
}

// Take removes the entry of id and returns it.
func (g *Map[E]) Take(id string) (E, bool) {
	if e, ok := g.cur[id]; ok {
		delete(g.cur, id)
		g.curBytes -= g.size(e)
		return e, true
	}
	e, ok := g.old[id]
	if ok {
		delete(g.old, id)
	}
	return e, ok
}

// Put sets the entry of id in the current generation. The map keeps id
// itself as the key: a caller whose ids point into larger buffers clones
// them.
func (g *Map[E]) Put(id string, e E) {
	delete(g.old, id)
	if prev, ok := g.cur[id]; ok {
		g.curBytes -= g.size(prev)
	} else if g.cur == nil {
		g.cur = map[string]E{}
	}
	g.cur[id] = e
	g.curBytes += g.size(e)
	if g.curBytes > g.budget/2 {
		g.old, g.cur, g.curBytes = g.cur, make(map[string]E, len(g.cur)), 0
	}
}

// Drop forgets id.
func (g *Map[E]) Drop(id string) {
	if e, ok := g.cur[id]; ok {
		delete(g.cur, id)
		g.curBytes -= g.size(e)
	}
	delete(g.old, id)
}

// Len is the number of entries held.
func (g *Map[E]) Len() int { return len(g.cur) + len(g.old) }
