package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/b2dc4357/sourced/views"
)

// Alias returns the concrete indices the alias points to, sorted, and its
// write index: the one flagged is_write_index, or the only index when
// there is one and it is not flagged false. A missing alias gives no
// indices and no error.
func (s *Store) Alias(ctx context.Context, alias string) ([]string, string, error) {
	op := "get alias " + strconv.Quote(alias)
	if err := checkName(alias); err != nil {
		return nil, "", fmt.Errorf("elastic: %s: %w", op, err)
	}
	res, err := esapi.IndicesGetAliasRequest{Name: []string{url.PathEscape(alias)}}.Do(ctx, s.es)
	if err != nil {
		return nil, "", transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		// {"error":"alias [x] missing","status":404}
		return nil, "", nil
	}
	if res.IsError() {
		return nil, "", statusError(op, res, false)
	}
	var byIndex map[string]struct {
		Aliases map[string]struct {
			IsWriteIndex *bool `json:"is_write_index"`
		} `json:"aliases"`
	}
	if err := json.NewDecoder(res.Body).Decode(&byIndex); err != nil {
		return nil, "", fmt.Errorf("elastic: %s: decode: %w", op, err)
	}
	var indices []string
	var write string
	var unflagged bool // the only index may be the write index implicitly
	for index, v := range byIndex {
		meta, ok := v.Aliases[alias]
		if !ok {
			continue
		}
		indices = append(indices, index)
		switch {
		case meta.IsWriteIndex == nil:
			unflagged = true
		case *meta.IsWriteIndex:
			write = index
		}
	}
	sort.Strings(indices)
	if write == "" && len(indices) == 1 && unflagged {
		write = indices[0]
	}
	return indices, write, nil
}

// UpdateAliases applies the actions atomically (POST /_aliases): all of
// them or none. A missing index or alias gives an error wrapping
// views.ErrNotFound.
func (s *Store) UpdateAliases(ctx context.Context, actions []views.AliasAction) error {
	const op = "update aliases"
	if len(actions) == 0 {
		return nil
	}
	b := append(make([]byte, 0, 64*len(actions)), `{"actions":[`...)
	for i, a := range actions {
		if err := checkName(a.Index); err != nil {
			return fmt.Errorf("elastic: %s: action %d: %w", op, i, err)
		}
		if a.Kind != views.RemoveIndex {
			if err := checkName(a.Alias); err != nil {
				return fmt.Errorf("elastic: %s: action %d: alias: %w", op, i, err)
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		switch a.Kind {
		case views.AddAlias:
			b = append(b, `{"add":{"index":`...)
			b = appendString(b, a.Index)
			b = append(b, `,"alias":`...)
			b = appendString(b, a.Alias)
			if a.IsWriteIndex {
				b = append(b, `,"is_write_index":true`...)
			}
			b = append(b, `}}`...)
		case views.RemoveAlias:
			b = append(b, `{"remove":{"index":`...)
			b = appendString(b, a.Index)
			b = append(b, `,"alias":`...)
			b = appendString(b, a.Alias)
			// Without must_exist, ES 8 applies the other actions and only
			// reports the missing alias in action_results: not atomic.
			b = append(b, `,"must_exist":true}}`...)
		case views.RemoveIndex:
			b = append(b, `{"remove_index":{"index":`...)
			b = appendString(b, a.Index)
			b = append(b, `}}`...)
		default:
			return fmt.Errorf("elastic: %s: action %d: unknown kind %d", op, i, a.Kind)
		}
	}
	b = append(b, `]}`...)
	for _, a := range actions {
		s.targets.forget(a.Index)
		s.targets.forget(a.Alias)
	}
	res, err := esapi.IndicesUpdateAliasesRequest{Body: bytes.NewReader(b)}.Do(ctx, s.es)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return statusError(op, res, true)
	}
	// ES 8 answers 200 with "errors": true when it applied some actions
	// and skipped others; must_exist on removes should prevent it, but the
	// update was not all-or-nothing then: say so.
	var ack struct {
		Errors        bool `json:"errors"`
		ActionResults []struct {
			Status int `json:"status"`
			Error  struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"action_results"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ack); err == nil && ack.Errors {
		for _, r := range ack.ActionResults {
			if r.Status >= 300 {
				err := fmt.Errorf("elastic: %s: applied in part: an action failed with %d %s: %s", op, r.Status, r.Error.Type, r.Error.Reason)
				if r.Status == http.StatusNotFound {
					err = fmt.Errorf("%w: %w", err, views.ErrNotFound)
				}
				return err
			}
		}
		return fmt.Errorf("elastic: %s: applied in part (errors: true)", op)
	}
	for _, a := range actions { // a Bulk may have resolved them meanwhile
		s.targets.forget(a.Index)
		s.targets.forget(a.Alias)
	}
	return nil
}
