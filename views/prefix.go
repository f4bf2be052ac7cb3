package views

import (
	"context"
	"strings"
)

// WithIndexPrefix returns a Store that puts prefix before every index and
// alias name it sends to s, and takes it off every name s answers with,
// so that views keep their plain names (invoice-search, invoice-search-v2)
// while several deployments, or test runs, share one Elasticsearch
// cluster. An empty prefix returns s itself.
func WithIndexPrefix(s Store, prefix string) Store {
	if prefix == "" {
		return s
	}
	p := prefixedStore{next: s, prefix: prefix}
	if sy, ok := s.(Syncer); ok {
		return prefixedSyncer{prefixedStore: p, sync: sy}
	}
	return p
}

// prefixedSyncer is a prefixedStore over a Syncer.
type prefixedSyncer struct {
	prefixedStore
	sync Syncer
}

func (p prefixedSyncer) Sync(ctx context.Context) error { return p.sync.Sync(ctx) }

type prefixedStore struct {
	next   Store
	prefix string
}

func (p prefixedStore) add(name string) string { return p.prefix + name }

func (p prefixedStore) strip(name string) string { return strings.TrimPrefix(name, p.prefix) }

func (p prefixedStore) CreateIndex(ctx context.Context, name string, m Mapping) error {
	return p.next.CreateIndex(ctx, p.add(name), m)
}

func (p prefixedStore) DeleteIndex(ctx context.Context, name string) error {
	return p.next.DeleteIndex(ctx, p.add(name))
}

func (p prefixedStore) Indices(ctx context.Context, prefix string) ([]string, error) {
	names, err := p.next.Indices(ctx, p.add(prefix))
	for i, n := range names {
		names[i] = p.strip(n)
	}
	return names, err
}

func (p prefixedStore) Alias(ctx context.Context, alias string) ([]string, string, error) {
	indices, write, err := p.next.Alias(ctx, p.add(alias))
	for i, n := range indices {
		indices[i] = p.strip(n)
	}
	if write != "" {
		write = p.strip(write)
	}
	return indices, write, err
}

func (p prefixedStore) UpdateAliases(ctx context.Context, actions []AliasAction) error {
	prefixed := make([]AliasAction, len(actions))
	for i, a := range actions {
		a.Index = p.add(a.Index)
		if a.Alias != "" {
			a.Alias = p.add(a.Alias)
		}
		prefixed[i] = a
	}
	return p.next.UpdateAliases(ctx, prefixed)
}

func (p prefixedStore) Bulk(ctx context.Context, ops []Op) ([]ItemResult, error) {
	prefixed := make([]Op, len(ops))
	for i, op := range ops {
		op.Index = p.add(op.Index)
		prefixed[i] = op
	}
	return p.next.Bulk(ctx, prefixed)
}

func (p prefixedStore) Get(ctx context.Context, index, id string) (Document, error) {
	d, err := p.next.Get(ctx, p.add(index), id)
	d.Index = p.strip(d.Index)
	return d, err
}

func (p prefixedStore) Search(ctx context.Context, index string, req SearchRequest) (SearchResult, error) {
	r, err := p.next.Search(ctx, p.add(index), req)
	for i := range r.Hits {
		r.Hits[i].Index = p.strip(r.Hits[i].Index)
	}
	return r, err
}

func (p prefixedStore) Refresh(ctx context.Context, index string) error {
	return p.next.Refresh(ctx, p.add(index))
}

func (p prefixedStore) Close() error { return p.next.Close() }
