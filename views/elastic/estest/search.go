package estest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/b2dc4357/sourced/views/elastic/estest/query"
)

// searchDocs returns the searchable documents as the query engine wants
// them. The slice is rebuilt lazily after each refresh and shared by
// concurrent searches and point-in-time snapshots; nobody mutates it.
func (ix *index) searchDocs() []*query.Doc {
	if ix.qdocs != nil && ix.qdocsGen == ix.refreshGen {
		return ix.qdocs
	}
	out := make([]*query.Doc, len(ix.searchable))
	for i, d := range ix.searchable {
		out[i] = &query.Doc{Index: ix.name, ID: d.id, Source: d.source, Raw: json.RawMessage(d.raw),
			Version: d.version, SeqNo: d.seqNo, PrimaryTerm: 1}
	}
	ix.qdocs, ix.qdocsGen = out, ix.refreshGen
	return out
}

// searchTargets resolves an index expression into query targets, with the
// alias filters that apply to each: an index reached only through filtered
// aliases is searched with the OR of those filters.
func (s *Server) searchTargets(expr string, o resolveOpts) ([]query.Target, []*index, *esError) {
	ixs, err := s.resolve(expr, o)
	if err != nil {
		return nil, nil, err
	}
	filters := map[string][]any{}
	direct := map[string]bool{}
	items := strings.Split(expr, ",")
	if isAll(expr) {
		items = []string{"*"}
	}
	for _, it := range items {
		for _, ix := range ixs {
			if globMatch(it, ix.name) || it == "_all" {
				direct[ix.name] = true
			}
			for a, meta := range ix.aliases {
				if !globMatch(it, a) {
					continue
				}
				if meta.filter == nil {
					direct[ix.name] = true
				} else {
					filters[ix.name] = append(filters[ix.name], meta.filter)
				}
			}
		}
	}
	out := make([]query.Target, len(ixs))
	for i, ix := range ixs {
		out[i] = query.Target{Index: ix.name, Mapping: ix.mapping, Docs: ix.searchDocs()}
		if fs := filters[ix.name]; !direct[ix.name] && len(fs) > 0 {
			var f any = fs[0]
			if len(fs) > 1 {
				f = map[string]any{"bool": map[string]any{"should": fs, "minimum_should_match": 1}}
			}
			out[i].Filter, _ = json.Marshal(f)
		}
	}
	return out, ixs, nil
}

func queryOptions(s *Server, ixs []*index) query.Options {
	o := query.Options{Now: s.opts.Clock(), MaxResultWindow: s.opts.MaxResultWindow}
	shards := 0
	for i, ix := range ixs {
		if w := ix.maxResultWindow(); i == 0 || w < o.MaxResultWindow {
			o.MaxResultWindow = w
		}
		shards += ix.shards()
	}
	o.Shards = shards
	return o
}

// queryFail converts a query engine error into a reply.
func queryFail(err error) reply {
	var qe *query.Error
	if errors.As(err, &qe) {
		return reply{status: qe.Status, raw: qe.Envelope()}
	}
	return fail(newErr(http.StatusInternalServerError, "exception", "estest: search: %v", err))
}

// search serves GET|POST /_search and /{target}/_search.
func (c *call) search() reply {
	s := c.s
	s.searches.Add(1)
	expr := ""
	if len(c.parts) == 2 {
		expr = c.parts[0]
	}
	pitID, hasPIT, err := query.ParsePIT(c.body)
	if err != nil {
		return queryFail(err)
	}
	var targets []query.Target
	var opts query.Options
	if hasPIT {
		if expr != "" {
			return fail(validationFailed([]string{"[indices] cannot be used with point in time. Do not specify any index with point in time."}))
		}
		p, ok := s.pits[pitID]
		if !ok {
			return fail(newErr(http.StatusNotFound, "search_context_missing_exception", "No search context found for id [%s]", pitID))
		}
		p.expires = s.opts.Clock().Add(p.keepAlive)
		targets, opts = p.targets, p.opts
		opts.Now = s.opts.Clock()
	} else {
		var ixs []*index
		var rerr *esError
		targets, ixs, rerr = s.searchTargets(expr, c.resolveOpts())
		if rerr != nil {
			return fail(rerr)
		}
		opts = queryOptions(s, ixs)
	}
	out, qerr := query.Search(c.body, c.params, targets, opts)
	if qerr != nil {
		return queryFail(qerr)
	}
	return reply{status: http.StatusOK, raw: out}
}

// count serves GET|POST /_count and /{target}/_count.
func (c *call) count() reply {
	s := c.s
	s.searches.Add(1)
	expr := ""
	if len(c.parts) == 2 {
		expr = c.parts[0]
	}
	targets, ixs, err := s.searchTargets(expr, c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	n, qerr := query.Count(c.body, c.params, targets, queryOptions(s, ixs))
	if qerr != nil {
		return queryFail(qerr)
	}
	return ok(map[string]any{"count": n, "_shards": broadcastShards(ixs, true)})
}

// pit is an open point in time: frozen targets.
type pit struct {
	targets   []query.Target
	opts      query.Options
	keepAlive time.Duration
	expires   time.Time
}

// openPIT serves POST /{index}/_pit.
func (c *call) openPIT() reply {
	s := c.s
	ka := c.param("keep_alive")
	if ka == "" {
		return fail(validationFailed([]string{"[keep_alive] is not provided"}))
	}
	d, derr := parseDuration(ka)
	if derr != nil || d <= 0 {
		return fail(illegalArg("failed to parse setting [keep_alive] with value [%s] as a time value", ka))
	}
	targets, ixs, err := s.searchTargets(c.parts[0], c.resolveOpts())
	if err != nil {
		return fail(err)
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	id := base64.URLEncoding.EncodeToString(b[:])
	s.pits[id] = &pit{targets: targets, opts: queryOptions(s, ixs), keepAlive: d, expires: s.opts.Clock().Add(d)}
	return ok(map[string]any{"id": id, "_shards": broadcastShards(ixs, true)})
}

// closePIT serves DELETE /_pit.
func (c *call) closePIT() reply {
	body, err := c.jsonBody()
	if err != nil {
		return fail(err)
	}
	id, _ := body["id"].(string)
	if id == "" {
		return fail(validationFailed([]string{"[id] must be specified"}))
	}
	if _, ok := c.s.pits[id]; !ok {
		return reply{status: http.StatusNotFound, body: map[string]any{"succeeded": true, "num_freed": 0}}
	}
	delete(c.s.pits, id)
	return ok(map[string]any{"succeeded": true, "num_freed": 1})
}
