package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Total-hits tracking modes.
const (
	trackAccurate = -1 // track_total_hits: true (or -1)
	trackOff      = -2 // track_total_hits: false
)

// searchRequest is a parsed _search request.
type searchRequest struct {
	query       node
	postFilter  node
	from, size  int
	sort        []sortField // nil: by _score
	searchAfter []any       // nil: none
	track       int         // a limit, trackAccurate or trackOff
	totalAsInt  bool
	seqNo       bool
	version     bool
	trackScores bool
	minScore    *float64
	source      sourceFilter
	pitID       *string
}

// decodeBody decodes a request body into an object; an empty body is {}.
func decodeBody(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("x_content_parse_exception", "failed to parse request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("x_content_parse_exception", "failed to parse request body: trailing data after the JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, parsingErr("request body must be a JSON object")
	}
	return m, nil
}

// tokenName is the Jackson token ES names in "Unknown key" errors.
func tokenName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER"
	case bool:
		return "VALUE_BOOLEAN"
	}
	return "VALUE_NULL"
}

// bodyInt reads an int body field, with Jackson's overflow message.
func bodyInt(key string, v any) (int, error) {
	n, ok := toNum(v)
	if !ok {
		return 0, parsingErr("[%s] must be a number, found [%v]", key, v)
	}
	if !n.isInt {
		if n.f != math.Trunc(n.f) {
			return 0, parsingErr("[%s] must be an integer, found [%v]", key, v)
		}
		n = num{i: int64(n.f), isInt: true}
	}
	if n.i > math.MaxInt32 || n.i < math.MinInt32 {
		// As ES 8.19: Jackson's coercion error wrapped in the parser's (which
		// also prefixes the position, not tracked here).
		cause := badRequest("input_coercion_exception", "Numeric value (%d) out of range of int (-2147483648 - 2147483647)", n.i)
		return 0, &Error{Status: cause.Status, Type: "x_content_parse_exception", Reason: cause.Reason, CausedBy: cause}
	}
	return int(n.i), nil
}

func paramInt(params url.Values, key string) (int, bool, error) {
	if !params.Has(key) {
		return 0, false, nil
	}
	s := params.Get(key)
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false, illegalArg("Failed to parse int parameter [%s] with value [%s]", key, s)
	}
	return int(i), true, nil
}

func paramBool(params url.Values, key string) (bool, error) {
	if !params.Has(key) {
		return false, nil
	}
	switch s := params.Get(key); s {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, illegalArg("Failed to parse value [%s] as only [true] or [false] are allowed.", s)
	}
}

// parseTrack parses track_total_hits (true, false or an integer).
func parseTrack(v any) (int, error) {
	if b, ok := v.(bool); ok {
		if b {
			return trackAccurate, nil
		}
		return trackOff, nil
	}
	if s, ok := v.(string); ok {
		switch s {
		case "true", "":
			return trackAccurate, nil
		case "false":
			return trackOff, nil
		}
	}
	n, ok := toNum(v)
	if !ok || !n.isInt || n.i > math.MaxInt32 {
		return 0, illegalArg("Failed to parse value [%v] for [track_total_hits]", v)
	}
	if n.i < -1 {
		return 0, illegalArg("[track_total_hits] parameter must be positive or equals to -1, got %d", n.i)
	}
	if n.i == -1 {
		return trackAccurate, nil
	}
	return int(n.i), nil
}

func parseSearch(body []byte, params url.Values, opts Options) (*searchRequest, error) {
	m, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	r := &searchRequest{size: 10, track: 10000}
	trackSet := false
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "query":
			r.query, err = parseQuery(v)
		case "post_filter":
			r.postFilter, err = parseQuery(v)
		case "from":
			r.from, err = bodyInt(k, v)
		case "size":
			r.size, err = bodyInt(k, v)
		case "sort":
			r.sort, err = parseSort(v)
		case "search_after":
			arr, ok := v.([]any)
			if !ok {
				return nil, parsingErr("[search_after] must be an array")
			}
			r.searchAfter = arr
		case "track_total_hits":
			r.track, err = parseTrack(v)
			trackSet = true
		case "_source":
			r.source, err = parseSourceFilter(v)
		case "seq_no_primary_term":
			r.seqNo, err = boolParam("search", k, v)
		case "version":
			r.version, err = boolParam("search", k, v)
		case "track_scores":
			r.trackScores, err = boolParam("search", k, v)
		case "min_score":
			var f float64
			if f, err = floatParam("search", k, v); err == nil {
				r.minScore = &f
			}
		case "pit":
			r.pitID, err = parsePIT(v)
		case "timeout", "profile", "stats", "explain", "terminate_after", "batched_reduce_size":
			// accepted, no effect on an in-memory search
		default:
			return nil, parsingErr("Unknown key for a %s in [%s].", tokenName(v), k)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := r.applyParams(params, &trackSet); err != nil {
		return nil, err
	}
	return r, r.validate(opts, trackSet)
}

func parsePIT(v any) (*string, error) {
	pm, ok := v.(map[string]any)
	if !ok {
		return nil, parsingErr("[pit] must be an object")
	}
	id, ok := pm["id"].(string)
	if !ok || id == "" {
		return nil, parsingErr("[pit] requires an [id]")
	}
	return &id, nil
}

// ParsePIT returns the point-in-time id of a _search body ({"pit":{"id"}}),
// so the server can resolve the frozen targets before calling Search. ok is
// false when the body has no pit; malformed bodies are an *Error.
func ParsePIT(body []byte) (id string, ok bool, err error) {
	m, err := decodeBody(body)
	if err != nil {
		return "", false, err
	}
	v, ok := m["pit"]
	if !ok {
		return "", false, nil
	}
	p, err := parsePIT(v)
	if err != nil {
		return "", false, err
	}
	return *p, true, nil
}

// applyParams applies URL parameters, which override the body.
func (r *searchRequest) applyParams(params url.Values, trackSet *bool) error {
	var err error
	if v, ok, err := paramInt(params, "from"); err != nil {
		return err
	} else if ok {
		r.from = v
	}
	if v, ok, err := paramInt(params, "size"); err != nil {
		return err
	} else if ok {
		r.size = v
	}
	if params.Has("sort") {
		if r.sort, err = parseSortParam(params.Get("sort")); err != nil {
			return err
		}
	}
	if params.Has("track_total_hits") {
		if r.track, err = parseTrack(params.Get("track_total_hits")); err != nil {
			return err
		}
		*trackSet = true
	}
	if params.Has("q") {
		if r.query, err = queryParam(params); err != nil {
			return err
		}
	}
	for key, dst := range map[string]*bool{"seq_no_primary_term": &r.seqNo, "version": &r.version, "track_scores": &r.trackScores} {
		if params.Has(key) {
			if *dst, err = paramBool(params, key); err != nil {
				return err
			}
		}
	}
	if r.totalAsInt, err = paramBool(params, "rest_total_hits_as_int"); err != nil {
		return err
	}
	return r.source.applyParams(params)
}

// queryParam builds the query of the q URL parameter (with df and
// default_operator).
func queryParam(params url.Values) (node, error) {
	var fields []fieldBoost
	if df := params.Get("df"); df != "" {
		fields = []fieldBoost{{field: df, boost: 1}}
	}
	and := false
	if op := params.Get("default_operator"); op != "" {
		var err error
		if and, err = parseOperator("query_string", strings.ToLower(op)); err != nil {
			return nil, err
		}
	}
	lenient, err := paramBool(params, "lenient")
	if err != nil {
		return nil, err
	}
	return parseQueryString(params.Get("q"), fields, and, lenient)
}

func (r *searchRequest) validate(opts Options, trackSet bool) error {
	if r.from < 0 {
		return illegalArg("[from] parameter cannot be negative but was [%d]", r.from)
	}
	if r.size < 0 {
		return illegalArg("[size] parameter cannot be negative, found [%d]", r.size)
	}
	if r.totalAsInt {
		if !trackSet {
			r.track = trackAccurate
		} else if r.track != trackAccurate && r.track != trackOff {
			return illegalArg("[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got %d", r.track)
		}
	}
	if r.searchAfter != nil && r.from > 0 {
		return &Error{Status: 400, Type: "action_request_validation_exception",
			Reason: "Validation Failed: 1: [from] parameter must be set to 0 when [search_after] is used;"}
	}
	if r.from+r.size > opts.MaxResultWindow {
		return shardFailure(illegalArg("Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.", opts.MaxResultWindow, r.from+r.size))
	}
	if r.pitID != nil {
		if len(r.sort) == 0 {
			r.sort = []sortField{newSortField("_score", "")}
		}
		if r.sort[len(r.sort)-1].field != "_shard_doc" {
			r.sort = append(r.sort, newSortField("_shard_doc", "asc"))
		}
	}
	if r.searchAfter != nil {
		n := len(r.sort)
		if n == 0 {
			n = 1 // by _score
		}
		if len(r.searchAfter) != n {
			return shardFailure(illegalArg("search_after has %d value(s) but sort has %d.", len(r.searchAfter), n))
		}
	}
	return nil
}

func parseCount(body []byte, params url.Values, _ Options) (node, error) {
	m, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	var q node = matchAllQ{boost: 1}
	for _, k := range sortedKeys(m) {
		if k != "query" {
			return nil, parsingErr("request does not support [%s]", k)
		}
		if q, err = parseQuery(m[k]); err != nil {
			return nil, err
		}
	}
	if params.Has("q") {
		return queryParam(params)
	}
	return q, nil
}
