package esyaml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// raw sends a request outside any test step (for setup and cleanup).
func (r *Runner) raw(ctx context.Context, method, path string, body any) (*Response, error) {
	req := &Request{Method: method, Path: path, Header: http.Header{"Accept": {"application/json"}}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", method, path, err)
		}
		req.Body = b
		req.Header.Set("Content-Type", "application/json")
	}
	return r.send(ctx, req)
}

// Indices returns the names of the open and closed indices on the server
// (hidden and system indices are not listed, so they are never touched).
func (r *Runner) Indices(ctx context.Context) (map[string]bool, error) {
	resp, err := r.raw(ctx, http.MethodGet, "/_alias?expand_wildcards=open,closed", nil)
	if err == nil && resp.Status >= 400 {
		// A server that does not know expand_wildcards still lists the
		// open indices without it.
		resp, err = r.raw(ctx, http.MethodGet, "/_alias", nil)
	}
	if err != nil {
		return nil, err
	}
	m, ok := resp.Body.(map[string]any)
	if resp.Status != http.StatusOK || !ok {
		return nil, fmt.Errorf("GET /_alias: status %d: %s", resp.Status, truncate(resp.Raw))
	}
	out := make(map[string]bool, len(m))
	for name := range m {
		out[name] = true
	}
	return out, nil
}

// cleanup closes the points in time a section opened and deletes, one by
// one and by exact name, every index that is not in before.
func (r *Runner) cleanup(ctx context.Context, before map[string]bool, pits []string) error {
	var errs []error
	for _, id := range pits {
		// 404 means the section closed it already.
		resp, err := r.raw(ctx, http.MethodDelete, "/_pit", map[string]string{"id": id})
		if err != nil {
			errs = append(errs, err)
		} else if resp.Status >= 400 && resp.Status != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("close point in time: status %d: %s", resp.Status, truncate(resp.Raw)))
		}
	}
	now, err := r.Indices(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	names := sortedKeys(now)
	for _, name := range names {
		if before[name] {
			continue
		}
		resp, err := r.raw(ctx, http.MethodDelete, "/"+url.PathEscape(name), nil)
		if err != nil {
			errs = append(errs, err)
		} else if resp.Status >= 400 && resp.Status != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("delete index %q: status %d: %s", name, resp.Status, truncate(resp.Raw)))
		}
	}
	return errors.Join(errs...)
}

// destructiveSetting lets wildcard deletes through, as the test clusters of
// the upstream projects are configured. ES 8 defaults it to true.
const destructiveSetting = "action.destructive_requires_name"

// Prepare configures the server for the upstream tests: it sets the
// persistent cluster setting action.destructive_requires_name to false. The
// returned function restores the previous persistent value (or removes the
// setting if it was unset); call it when the run ends.
func (r *Runner) Prepare(ctx context.Context) (restore func(context.Context) error, err error) {
	var prev any
	resp, err := r.raw(ctx, http.MethodGet, "/_cluster/settings", nil)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if resp.Status == http.StatusOK {
		prev = persistentSetting(resp.Body, destructiveSetting)
	}
	set := func(ctx context.Context, v any) error {
		body := map[string]any{"persistent": map[string]any{destructiveSetting: v}}
		resp, err := r.raw(ctx, http.MethodPut, "/_cluster/settings", body)
		if err != nil {
			return err
		}
		if resp.Status >= 400 {
			return fmt.Errorf("PUT /_cluster/settings: status %d: %s", resp.Status, truncate(resp.Raw))
		}
		return nil
	}
	if err := set(ctx, false); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return func(ctx context.Context) error {
		if err := set(ctx, prev); err != nil {
			return fmt.Errorf("restore %s: %w", destructiveSetting, err)
		}
		return nil
	}, nil
}

// persistentSetting finds a dotted setting in a GET /_cluster/settings
// body, in flat ("a.b": v) or nested ({"a": {"b": v}}) form.
func persistentSetting(body any, key string) any {
	m, _ := body.(map[string]any)
	cur, _ := m["persistent"].(map[string]any)
	parts := strings.Split(key, ".")
	for i := range parts {
		if cur == nil {
			return nil
		}
		rest := strings.Join(parts[i:], ".")
		if v, ok := cur[rest]; ok {
			return v
		}
		cur, _ = cur[parts[i]].(map[string]any)
	}
	return nil
}

// Summary counts results by outcome and lists the skips with reasons.
type Summary struct {
	Pass, Fail, Skip int
	// Skips are "suite/file/section: reason" lines, sorted.
	Skips []string
}

// Summarize counts results.
func Summarize(results []Result) Summary {
	var s Summary
	for _, r := range results {
		switch r.Outcome {
		case Pass:
			s.Pass++
		case Fail:
			s.Fail++
		default:
			s.Skip++
			s.Skips = append(s.Skips, fmt.Sprintf("%s/%s/%s: %s", r.Suite, r.File, r.Section, r.Reason))
		}
	}
	sort.Strings(s.Skips)
	return s
}
