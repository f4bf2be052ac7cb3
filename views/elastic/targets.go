package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Elasticsearch creates a missing index on the first write to it
// (action.auto_create_index, on by default) with dynamic mapping; views
// never want that. So Bulk resolves each target name before writing to
// it, and remembers the answer:
//
//   - an alias: its items carry require_alias, so that if the alias goes
//     away Elasticsearch fails them with index_not_found_exception
//     instead of creating an index with the alias's name. No expiry is
//     needed.
//   - a concrete index: require_alias would refuse it, so nothing guards
//     the write but the check itself, which is repeated once the answer
//     is older than indexCheckTTL. An index deleted by another process
//     within that window is auto-created by the next write: disable
//     auto-creation for view indices on production clusters.
//   - missing: not remembered; the items are Fatal without a request.
//
// DeleteIndex and UpdateAliases forget the names they touch, and so does
// an index_not_found_exception item.

// indexCheckTTL is how long a name found to be a concrete index is
// trusted.
const indexCheckTTL = 30 * time.Second

// target is what a name written to resolved to.
type target struct {
	alias   bool
	checked time.Time
}

// targets caches resolved names. Safe for concurrent use.
type targets struct {
	m sync.Map // string -> target
}

func (ts *targets) lookup(name string, now time.Time) (target, bool) {
	v, ok := ts.m.Load(name)
	if !ok {
		return target{}, false
	}
	t := v.(target)
	if !t.alias && now.Sub(t.checked) > indexCheckTTL {
		return target{}, false
	}
	return t, true
}

func (ts *targets) store(name string, t target) { ts.m.Store(name, t) }

func (ts *targets) forget(name string) { ts.m.Delete(name) }

// resolve tells whether name is an alias, and whether it exists at all,
// from GET /{name}/_alias: the keys are the concrete indices name
// resolves to, which include name itself only when it is an index.
func (s *Store) resolve(ctx context.Context, name string) (t target, exists bool, err error) {
	now := time.Now()
	if t, ok := s.targets.lookup(name, now); ok {
		return t, true, nil
	}
	op := "resolve " + strconv.Quote(name)
	res, err := esapi.IndicesGetAliasRequest{Index: []string{url.PathEscape(name)}}.Do(ctx, s.es)
	if err != nil {
		return target{}, false, transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return target{}, false, nil
	}
	if res.IsError() {
		return target{}, false, statusError(op, res, false)
	}
	var byIndex map[string]json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&byIndex); err != nil {
		return target{}, false, fmt.Errorf("elastic: %s: decode: %w", op, err)
	}
	if len(byIndex) == 0 {
		return target{}, false, nil
	}
	_, concrete := byIndex[name]
	t = target{alias: !concrete, checked: now}
	s.targets.store(name, t)
	return t, true, nil
}
