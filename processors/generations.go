package processors

// generations is a map from aggregate id to E bounded by a byte budget, the
// eviction both of the processor's caches use: entries go to the current
// generation; when it holds half the budget it becomes the old one and the
// old one is dropped. A hit in the old generation (get) moves the entry
// back to the current one. It is not safe for concurrent use: each cache
// guards it with its own mutex.
type generations[E any] struct {
	budget   int
	size     func(E) int
	cur, old map[string]E
	curBytes int
}

func newGenerations[E any](budget int, size func(E) int) generations[E] {
	return generations[E]{budget: budget, size: size, cur: map[string]E{}, old: map[string]E{}}
}

// get returns the entry of id, moving it to the current generation.
func (g *generations[E]) get(id string) (E, bool) {
	if e, ok := g.cur[id]; ok {
		return e, true
	}
	e, ok := g.old[id]
	if ok {
		delete(g.old, id)
		g.put(id, e)
	}
	return e, ok
}

// take removes the entry of id and returns it.
func (g *generations[E]) take(id string) (E, bool) {
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

// put sets the entry of id in the current generation.
func (g *generations[E]) put(id string, e E) {
	delete(g.old, id)
	if prev, ok := g.cur[id]; ok {
		g.curBytes -= g.size(prev)
	}
	g.cur[id] = e
	g.curBytes += g.size(e)
	if g.curBytes > g.budget/2 {
		g.old, g.cur, g.curBytes = g.cur, make(map[string]E, len(g.cur)), 0
	}
}

// drop forgets id.
func (g *generations[E]) drop(id string) {
	if e, ok := g.cur[id]; ok {
		delete(g.cur, id)
		g.curBytes -= g.size(e)
	}
	delete(g.old, id)
}

// len is the number of entries held.
func (g *generations[E]) len() int { return len(g.cur) + len(g.old) }
