package bleve

import (
	"context"
	"fmt"
	"sort"

	"github.com/b2dc4357/sourced/views"
)

// Alias returns the concrete indices of an alias, sorted, and its write
// index: the index added with IsWriteIndex, or the only index of an alias
// without one ("" otherwise). A name that is no alias gives no indices and
// no error.
func (s *Store) Alias(ctx context.Context, alias string) ([]string, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, "", errClosed
	}
	members := s.aliases[alias]
	if len(members) == 0 {
		return nil, "", nil
	}
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, writeIndexOf(members), nil
}

// writeIndexOf returns the write index of an alias's members, or "".
func writeIndexOf(members map[string]bool) string {
	only := ""
	for name, isWrite := range members {
		if isWrite {
			return name
		}
		only = name
	}
	if len(members) == 1 {
		return only
	}
	return ""
}

// UpdateAliases applies the actions in order, atomically: every action is
// checked against the state the previous ones leave, and nothing changes
// unless all of them are valid. AddAlias needs an existing concrete index
// and an alias name no index has; adding an index already in the alias
// replaces its write flag. RemoveAlias needs the index to be in the alias.
// RemoveIndex deletes a concrete index (and its files) and removes it from
// every alias. An alias left with more than one write index is refused, as
// Elasticsearch does. Missing indices and aliases give errors wrapping
// views.ErrNotFound.
func (s *Store) UpdateAliases(ctx context.Context, actions []views.AliasAction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	aliases := cloneAliases(s.aliases)
	removed := map[string]bool{}
	var drop []string
	exists := func(name string) bool { return s.indices[name] != nil && !removed[name] }
	for i, a := range actions {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("bleve: update aliases: action %d: "+format, append([]any{i}, args...)...)
		}
		switch a.Kind {
		case views.AddAlias, views.RemoveAlias:
			if !exists(a.Index) {
				return fail("index %q: %w", a.Index, views.ErrNotFound)
			}
			if a.Kind == views.RemoveAlias {
				if !hasMember(aliases[a.Alias], a.Index) {
					return fail("alias %q of index %q: %w", a.Alias, a.Index, views.ErrNotFound)
				}
				delete(aliases[a.Alias], a.Index)
				if len(aliases[a.Alias]) == 0 {
					delete(aliases, a.Alias)
				}
				continue
			}
			if err := validName(a.Alias); err != nil {
				return fail("alias %q: %w", a.Alias, err)
			}
			if exists(a.Alias) {
				return fail("alias %q: an index exists with the same name as the alias", a.Alias)
			}
			if aliases[a.Alias] == nil {
				aliases[a.Alias] = map[string]bool{}
			}
			aliases[a.Alias][a.Index] = a.IsWriteIndex
		case views.RemoveIndex:
			if !exists(a.Index) {
				if aliases[a.Index] != nil {
					return fail("index %q is an alias; remove_index needs a concrete index", a.Index)
				}
				return fail("index %q: %w", a.Index, views.ErrNotFound)
			}
			removed[a.Index] = true
			drop = append(drop, a.Index)
			removeFromAliases(aliases, a.Index)
		default:
			return fail("unknown action kind %d", a.Kind)
		}
	}
	for alias, members := range aliases {
		var writers []string
		for name, isWrite := range members {
			if isWrite {
				writers = append(writers, name)
			}
		}
		if len(writers) > 1 {
			sort.Strings(writers)
			return fmt.Errorf("bleve: update aliases: alias [%s] has more than one write index %v", alias, writers)
		}
	}
	return s.commit(aliases, drop)
}

func hasMember(members map[string]bool, name string) bool {
	_, ok := members[name]
	return ok
}

func cloneAliases(in map[string]map[string]bool) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(in))
	for alias, members := range in {
		m := make(map[string]bool, len(members))
		for name, isWrite := range members {
			m[name] = isWrite
		}
		out[alias] = m
	}
	return out
}

// removeFromAliases removes an index from every alias, dropping aliases
// left empty.
func removeFromAliases(aliases map[string]map[string]bool, name string) {
	for alias, members := range aliases {
		delete(members, name)
		if len(members) == 0 {
			delete(aliases, alias)
		}
	}
}

// readIndices resolves an index or alias name for reading: the index, or
// every index of the alias in name order. s.mu must be held.
func (s *Store) readIndices(name string) ([]*index, error) {
	if s.closed {
		return nil, errClosed
	}
	if ix := s.indices[name]; ix != nil {
		return []*index{ix}, nil
	}
	members := s.aliases[name]
	if len(members) == 0 {
		return nil, fmt.Errorf("index %q: %w", name, views.ErrNotFound)
	}
	out := make([]*index, 0, len(members))
	for m := range members {
		out = append(out, s.indices[m])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// writeTarget resolves an index or alias name for writing. A missing name,
// or an alias without a write index, gives the Fatal item result
// Elasticsearch's bulk API reports. s.mu must be held.
func (s *Store) writeTarget(name string) (*index, views.ItemResult) {
	if ix := s.indices[name]; ix != nil {
		return ix, views.ItemResult{}
	}
	members := s.aliases[name]
	if len(members) == 0 {
		return nil, views.ItemResult{Outcome: views.Fatal, Status: 404, Type: "index_not_found_exception",
			Reason: fmt.Sprintf("no such index [%s]", name)}
	}
	w := writeIndexOf(members)
	if w == "" {
		return nil, views.ItemResult{Outcome: views.Fatal, Status: 400, Type: "illegal_argument_exception",
			Reason: fmt.Sprintf("no write index is defined for alias [%s]. The write index may be explicitly disabled "+
				"using is_write_index=false or the alias points to multiple indices without one being designated as a write index", name)}
	}
	return s.indices[w], views.ItemResult{}
}
