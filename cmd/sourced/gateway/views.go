package gateway

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/b2dc4357/sourced/views"
)

// tiebreaker returns the sort fields that make a view's order total: its
// "id" keyword field (state views), or "aggregate_id" then "version"
// (event views, whose documents are one aggregate version each).
// Elasticsearch cannot sort on _id, so the tiebreaker must be mapped.
func tiebreaker(v *views.View) ([]string, error) {
	if f, ok := v.Mapping.Lookup("id"); ok && f.Type == views.Keyword {
		return []string{"id"}, nil
	}
	a, okA := v.Mapping.Lookup("aggregate_id")
	ver, okV := v.Mapping.Lookup("version")
	if okA && okV && a.Type == views.Keyword && ver.Type == views.Long {
		return []string{"aggregate_id", "version"}, nil
	}
	return nil, fmt.Errorf("gateway: view %q maps neither an \"id\" keyword nor \"aggregate_id\" and \"version\": no unique sort for paging", v.Name)
}

// viewOf returns the view of the route, or the error answer.
func (g *Gateway) viewOf(r *http.Request) (*viewRoute, *apiError) {
	v, ok := g.views[r.PathValue("view")]
	if !ok {
		return nil, errorf(http.StatusNotFound, "unknown_view", "no view %q", r.PathValue("view"))
	}
	if g.cfg.Store == nil {
		return nil, errorf(http.StatusServiceUnavailable, "no_view_store", "this gateway has no view store (start it with --es-url)")
	}
	return v, nil
}

// docBody is a view document as the gateway answers it.
type docBody struct {
	ID      string          `json:"id"`
	Index   string          `json:"index"`
	Version uint64          `json:"version"`
	Source  json.RawMessage `json:"source"`
}

// validDocID checks a view document id: 1 to 256 characters of
// [A-Za-z0-9._:-] (an event view's ids are "<aggregate id>:<version>").
func validDocID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// getViewDoc handles GET /v1/views/{view}/{id}[?min_version=N]: one
// document read through the view's alias (realtime: it sees writes before
// a refresh). With min_version it waits until the document reaches that
// version, as GET /v1/{aggregate}/{id} does.
func (g *Gateway) getViewDoc(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	v, e := g.viewOf(r)
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	if !validDocID(id) {
		writeError(w, errorf(http.StatusBadRequest, "invalid_id", "document id %q: want 1 to 256 characters of [A-Za-z0-9._:-]", id))
		return
	}
	minV, e := minVersion(r)
	if e != nil {
		writeError(w, e)
		return
	}
	deadline := start.Add(g.preferredWait(w, r, g.cfg.ReadWait))
	var doc views.Document
	var err error
	var written func() <-chan struct{}
	if ws, ok := g.cfg.Store.(interface{ Written() <-chan struct{} }); ok {
		written = ws.Written
	}
	ok := poll(r.Context(), deadline, written, func() bool {
		doc, err = g.cfg.Store.Get(r.Context(), v.view.Name, id)
		switch {
		case err == nil:
			return doc.Version >= minV
		case errors.Is(err, views.ErrNotFound):
			return minV == 0
		default:
			return true
		}
	})
	switch {
	case err != nil && !errors.Is(err, views.ErrNotFound):
		writeError(w, errorf(http.StatusBadGateway, "view_store_error", "read %s %q: %v", v.view.Name, id, err))
	case ok && err != nil:
		writeError(w, errorf(http.StatusNotFound, "not_found", "view %s has no document %q", v.view.Name, id))
	case !ok:
		have := uint64(0)
		if err == nil {
			have = doc.Version
		}
		writeError(w, errorf(http.StatusGatewayTimeout, "not_caught_up", "view %s shows %q at version %d, not yet %d", v.view.Name, id, have, minV))
	default:
		w.Header().Set("ETag", versionTag(doc.Version))
		writeJSON(w, http.StatusOK, docBody{ID: doc.ID, Index: doc.Index, Version: doc.Version, Source: doc.Source})
	}
}

// searchBody is the answer to a search.
type searchBody struct {
	Total int       `json:"total"`
	Hits  []docBody `json:"hits"`
	// Next is the cursor of the next page (?after=); absent on the last.
	Next string `json:"next,omitempty"`
}

// searchQuery is a parsed search, without its page position.
type searchQuery struct {
	req views.SearchRequest
	// hash identifies the query for its cursors.
	hash string
}

// parseSearch reads q, filter (field:value, repeatable), sort
// (field[:asc|desc], repeatable or comma-separated) and size, checking
// fields against the view's mapping, and appends the tiebreaker to the
// sort.
func (vr *viewRoute) parseSearch(q map[string][]string) (searchQuery, *apiError) {
	var sq searchQuery
	get := func(k string) string {
		if vs := q[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	sq.req.Query = get("q")
	sq.req.Size = DefaultSearchSize
	if s := get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxSearchSize {
			return sq, errorf(http.StatusBadRequest, "invalid_parameter", "size %q: want 1 to %d", s, MaxSearchSize)
		}
		sq.req.Size = n
	}
	for _, f := range q["filter"] {
		field, value, ok := strings.Cut(f, ":")
		if !ok || field == "" {
			return sq, errorf(http.StatusBadRequest, "invalid_parameter", "filter %q: want field:value", f)
		}
		typed, e := vr.filterValue(field, value)
		if e != nil {
			return sq, e
		}
		sq.req.Filters = append(sq.req.Filters, views.Filter{Field: field, Value: typed})
	}
	var fields []string
	for _, s := range q["sort"] {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				fields = append(fields, part)
			}
		}
	}
	for _, s := range fields {
		field, dir, _ := strings.Cut(s, ":")
		sf := views.SortField{Field: field}
		switch strings.ToLower(dir) {
		case "", "asc":
		case "desc":
			sf.Desc = true
		default:
			return sq, errorf(http.StatusBadRequest, "invalid_parameter", "sort %q: want field, field:asc or field:desc", s)
		}
		if field != "_score" {
			f, ok := vr.view.Mapping.Lookup(field)
			if !ok || !sortable(f.Type) {
				return sq, errorf(http.StatusBadRequest, "invalid_parameter", "sort %q: %s is not a keyword, numeric, date or boolean field of view %s", s, field, vr.view.Name)
			}
		}
		sq.req.Sort = append(sq.req.Sort, sf)
	}
	if len(sq.req.Sort) == 0 && sq.req.Query != "" {
		sq.req.Sort = append(sq.req.Sort, views.SortField{Field: "_score", Desc: true})
	}
	// The tiebreaker makes the order total, so search_after neither skips
	// nor repeats hits; fields already sorted on keep their direction.
	for _, t := range vr.tiebreak {
		if !slices.ContainsFunc(sq.req.Sort, func(f views.SortField) bool { return f.Field == t }) {
			sq.req.Sort = append(sq.req.Sort, views.SortField{Field: t})
		}
	}
	h := sha256.New()
	canon, _ := json.Marshal(struct {
		View    string
		Q       string
		Filters []views.Filter
		Sort    []views.SortField
	}{vr.view.Name, sq.req.Query, sq.req.Filters, sq.req.Sort})
	h.Write(canon)
	sq.hash = base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
	return sq, nil
}

func sortable(t views.FieldType) bool {
	switch t {
	case views.Keyword, views.Long, views.Double, views.Date, views.Boolean:
		return true
	}
	return false
}

// filterValue types a filter's value by the field's mapping, as a term
// query compares it.
func (vr *viewRoute) filterValue(field, value string) (any, *apiError) {
	f, ok := vr.view.Mapping.Lookup(field)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "invalid_parameter", "filter on %q: view %s has no such field", field, vr.view.Name)
	}
	bad := func() *apiError {
		return errorf(http.StatusBadRequest, "invalid_parameter", "filter %s:%s: not a %s value", field, value, f.Type)
	}
	switch f.Type {
	case views.Keyword, views.Date:
		return value, nil
	case views.Long:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil, bad()
		}
		return n, nil
	case views.Double:
		x, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, bad()
		}
		return x, nil
	case views.Boolean:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return nil, bad()
		}
		return b, nil
	}
	return nil, errorf(http.StatusBadRequest, "invalid_parameter", "filter on %q: a %s field takes no exact filter (use q for text)", field, f.Type)
}

// cursor is the position after a page: the last hit's sort values and
// the hash of the query that produced them.
type cursor struct {
	Hash  string `json:"h"`
	After []any  `json:"a"`
}

func (sq searchQuery) encodeCursor(after []any) string {
	b, _ := json.Marshal(cursor{Hash: sq.hash, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func (sq searchQuery) decodeCursor(s string) ([]any, *apiError) {
	bad := errorf(http.StatusBadRequest, "invalid_cursor", "after %q is not a cursor of this search", s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Hash != sq.hash || len(c.After) != len(sq.req.Sort) {
		return nil, bad
	}
	return c.After, nil
}

// searchView handles GET /v1/views/{view}?q=&filter=&sort=&size=&after=:
// one page of hits, paged with search_after cursors (never from/size
// paging). A cursor is opaque (base64url of the last hit's sort values
// and a hash of the query) and is refused with 400 by another query.
func (g *Gateway) searchView(w http.ResponseWriter, r *http.Request) {
	v, e := g.viewOf(r)
	if e != nil {
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	sq, e := v.parseSearch(q)
	if e != nil {
		writeError(w, e)
		return
	}
	if s := q.Get("after"); s != "" {
		if sq.req.After, e = sq.decodeCursor(s); e != nil {
			writeError(w, e)
			return
		}
	}
	res, err := g.cfg.Store.Search(r.Context(), v.view.Name, sq.req)
	if err != nil {
		if errors.Is(err, views.ErrNotFound) {
			writeJSON(w, http.StatusOK, searchBody{Hits: []docBody{}})
			return
		}
		writeError(w, errorf(http.StatusBadGateway, "view_store_error", "search %s: %v", v.view.Name, err))
		return
	}
	body := searchBody{Total: res.Total, Hits: make([]docBody, len(res.Hits))}
	for i, h := range res.Hits {
		body.Hits[i] = docBody{ID: h.ID, Index: h.Index, Version: h.Version, Source: h.Source}
	}
	if len(res.Hits) == sq.req.Size {
		body.Next = sq.encodeCursor(res.Hits[len(res.Hits)-1].Sort)
	}
	writeJSON(w, http.StatusOK, body)
}
