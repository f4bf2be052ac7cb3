package views

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Store is where views live: a set of indices with versioned documents,
// aliases over them, and search. Implementations: views/elastic and
// views/bleve. Every method is safe for concurrent use.
type Store interface {
	// CreateIndex creates a concrete index with the mapping. It returns an
	// error wrapping ErrIndexExists when the name is taken by an index or
	// an alias.
	CreateIndex(ctx context.Context, name string, m Mapping) error
	// DeleteIndex deletes a concrete index and removes it from every alias.
	// Deleting a missing index returns an error wrapping ErrNotFound.
	DeleteIndex(ctx context.Context, name string) error
	// Indices lists the concrete indices whose names start with prefix,
	// sorted by name.
	Indices(ctx context.Context, prefix string) ([]string, error)
	// Alias returns the concrete indices an alias points to, sorted by
	// name, and the one that takes writes through the alias ("" when
	// there is none). A missing alias gives no indices and no error.
	Alias(ctx context.Context, alias string) (indices []string, writeIndex string, err error)
	// UpdateAliases applies the actions atomically: all of them or none.
	UpdateAliases(ctx context.Context, actions []AliasAction) error
	// Bulk applies the operations and returns one result per operation,
	// in order. An error means the whole request failed and nothing can be
	// assumed about which operations were applied; IsRetryable tells
	// whether trying again may succeed.
	Bulk(ctx context.Context, ops []Op) ([]ItemResult, error)
	// Get reads a document by id from an index or alias, seeing writes
	// before a refresh. A missing document or index gives an error
	// wrapping ErrNotFound.
	Get(ctx context.Context, index, id string) (Document, error)
	// Search runs a query against an index or alias. It sees writes up to
	// the last refresh.
	Search(ctx context.Context, index string, req SearchRequest) (SearchResult, error)
	// Refresh makes every write so far visible to Search.
	Refresh(ctx context.Context, index string) error
	// Close releases the store's resources.
	Close() error
}

// Syncer is a Store whose Bulk may acknowledge writes (visible to Get and
// to the version checks of later writes) before they are durable, such as
// the embedded store with a refresh interval. Whoever records progress
// past a write, as a projector committing its offsets, calls Sync first.
type Syncer interface {
	Store
	// Sync waits until every write Bulk acknowledged before the call is
	// durable, or ctx is done.
	Sync(ctx context.Context) error
}

// Sync waits until s holds every write it acknowledged durably: Sync for
// a Syncer, nothing for a store whose acknowledged writes are durable.
func Sync(ctx context.Context, s Store) error {
	if sy, ok := s.(Syncer); ok {
		return sy.Sync(ctx)
	}
	return nil
}

// Op is one versioned write. Version is the external version: a store
// applies an operation only when the document (or the tombstone a delete
// left) holds an older version, so replays and reordered writes are
// harmless.
type Op struct {
	// Index is the alias or concrete index written to.
	Index string
	// ID is the document id.
	ID string
	// Version is the aggregate version the document reflects.
	Version uint64
	// Delete removes the document instead of writing it.
	Delete bool
	// Doc is the JSON document of an index operation; nil for a delete.
	Doc json.RawMessage
}

// Outcome classifies the result of one operation of a bulk write.
type Outcome uint8

const (
	// Applied means the store now holds the operation's version (a delete
	// of a missing document is applied too: it leaves a tombstone).
	Applied Outcome = iota
	// Stale means the store already held this version or a newer one:
	// the operation was applied before, so it counts as done.
	Stale
	// Refused means the store cannot take the document (it contradicts
	// the mapping): retrying cannot help, so it goes to the dead letters.
	Refused
	// Failed means a transient failure of this operation alone (such as
	// an item-level 429): retry it.
	Failed
	// Fatal means an error that neither retry nor dead-lettering fixes
	// (such as a missing index or alias): the view must stop.
	Fatal
)

var outcomeNames = [...]string{"applied", "stale", "refused", "failed", "fatal"}

// String returns the outcome's lower-case name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// ItemResult is the result of one operation of a bulk write.
type ItemResult struct {
	// Outcome classifies the result.
	Outcome Outcome
	// Status is the HTTP-like status of the item (201, 200, 404, 409, 400,
	// 429...).
	Status int
	// Type is the store's error type, such as "document_parsing_exception";
	// empty on success.
	Type string
	// Reason is the store's error message; empty on success.
	Reason string
}

// AliasAction is one action of an atomic alias update.
type AliasAction struct {
	// Kind is what the action does.
	Kind AliasActionKind
	// Index is the concrete index.
	Index string
	// Alias is the alias name (unused by RemoveIndex).
	Alias string
	// IsWriteIndex makes Index the write index of Alias (AddAlias only).
	IsWriteIndex bool
}

// AliasActionKind says what an AliasAction does.
type AliasActionKind uint8

const (
	// AddAlias points Alias at Index too.
	AddAlias AliasActionKind = iota
	// RemoveAlias removes Index from Alias.
	RemoveAlias
	// RemoveIndex deletes Index (and its aliases) as part of the update.
	RemoveIndex
)

// Document is a stored document with its version.
type Document struct {
	// Index is the concrete index holding the document.
	Index string
	// ID is the document id.
	ID string
	// Version is the external version the document was written with.
	Version uint64
	// Source is the document as written.
	Source json.RawMessage
}

// SearchRequest is the query language shared by every store: a full-text
// query, exact filters, a sort and search_after paging. There is no offset
// paging: page with After.
type SearchRequest struct {
	// Query is full text matched against every text field ("" matches
	// every document). Terms are joined with OR, as Elasticsearch's match
	// query does.
	Query string
	// Filters must all match: exact values of keyword, numeric, boolean
	// or date fields.
	Filters []Filter
	// Sort orders hits; the last field should be unique per document so
	// that paging with After is stable. Empty: by relevance, then id.
	Sort []SortField
	// Size is the page size. Default: 10. At most 10,000.
	Size int
	// After continues after the hit whose Sort values these are (the
	// previous page's last hit).
	After []any
}

// Filter is an exact match on one field. Value is compared the way
// Elasticsearch's term query compares it with the field's mapped type.
type Filter struct {
	Field string
	Value any
}

// SortField is one sort key.
type SortField struct {
	Field string
	Desc  bool
}

// SearchResult is one page of hits.
type SearchResult struct {
	// Total is the number of matching documents.
	Total int
	// Hits is the page, in sort order.
	Hits []Hit
}

// Hit is one search result.
type Hit struct {
	Document
	// Sort holds the hit's sort values, to pass as SearchRequest.After.
	Sort []any
}

var (
	// ErrNotFound is returned for a missing index, alias or document.
	ErrNotFound = errors.New("views: not found")
	// ErrIndexExists is returned when creating an index whose name is taken.
	ErrIndexExists = errors.New("views: index already exists")
)

// RetryableError marks a failure that may succeed when tried again: a
// connection error, a 429 or a 5xx.
type RetryableError struct {
	Err error
}

// Error returns the wrapped error's message.
func (e *RetryableError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err as retryable; nil stays nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err}
}

// IsRetryable reports whether err, or an error it wraps, is retryable.
func IsRetryable(err error) bool {
	var r *RetryableError
	return errors.As(err, &r)
}
