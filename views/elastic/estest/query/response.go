package query

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sourceFilter is the request's _source option.
type sourceFilter struct {
	off      bool
	includes []string
	excludes []string
}

func (f sourceFilter) active() bool { return len(f.includes) > 0 || len(f.excludes) > 0 }

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, parsingErr("[_source] patterns must be strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, parsingErr("[_source] patterns must be a string or an array of strings")
}

// parseSourceFilter parses _source: a bool, a pattern, a list of patterns or
// {"includes", "excludes"}.
func parseSourceFilter(v any) (sourceFilter, error) {
	var f sourceFilter
	var err error
	switch x := v.(type) {
	case bool:
		f.off = !x
	case string, []any:
		f.includes, err = stringList(x)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			switch k {
			case "includes", "include":
				f.includes, err = stringList(x[k])
			case "excludes", "exclude":
				f.excludes, err = stringList(x[k])
			default:
				return f, parsingErr("Unknown key for a %s in [%s].", tokenName(x[k]), k)
			}
			if err != nil {
				return f, err
			}
		}
	default:
		return f, parsingErr("[_source] must be a boolean, a string, an array or an object")
	}
	return f, err
}

func (f *sourceFilter) applyParams(params url.Values) error {
	if params.Has("_source") {
		switch v := params.Get("_source"); v {
		case "true", "":
			f.off = false
		case "false":
			f.off = true
		default:
			f.off, f.includes = false, strings.Split(v, ",")
		}
	}
	if params.Has("_source_includes") {
		f.off, f.includes = false, strings.Split(params.Get("_source_includes"), ",")
	}
	if params.Has("_source_excludes") {
		f.off, f.excludes = false, strings.Split(params.Get("_source_excludes"), ",")
	}
	return nil
}

// apply filters a source object; "*" in a pattern matches any characters,
// and a pattern naming an object keeps or drops all of it.
func (f sourceFilter) apply(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		p := prefix + k
		if matchAny(f.excludes, p) {
			continue
		}
		full := len(f.includes) == 0 || matchAny(f.includes, p)
		if full && len(f.excludes) == 0 {
			out[k] = v
			continue
		}
		if !full && !f.mayInclude(p) {
			continue
		}
		sub := f
		if full {
			sub.includes = nil
		}
		switch x := v.(type) {
		case map[string]any:
			if fm := sub.apply(x, p+"."); len(fm) > 0 || full {
				out[k] = fm
			}
		case []any:
			var arr []any
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					if fm := sub.apply(em, p+"."); len(fm) > 0 {
						arr = append(arr, fm)
					}
				} else if full {
					arr = append(arr, e)
				}
			}
			if len(arr) > 0 || full {
				if arr == nil {
					arr = []any{}
				}
				out[k] = arr
			}
		default:
			if full {
				out[k] = v
			}
		}
	}
	return out
}

// mayInclude reports whether an include pattern can match below path p.
func (f sourceFilter) mayInclude(p string) bool {
	for _, pat := range f.includes {
		lit := pat
		if i := strings.IndexAny(pat, "*?"); i >= 0 {
			lit = pat[:i]
			if strings.HasPrefix(p+".", lit) || strings.HasPrefix(lit, p+".") {
				return true
			}
			continue
		}
		if strings.HasPrefix(lit, p+".") {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if pat == p || (strings.ContainsAny(pat, "*?") && globMatch(pat, p)) {
			return true
		}
	}
	return false
}

// score renders like Java's float: always with a fraction ("1.0").
type score float64

func (s score) MarshalJSON() ([]byte, error) {
	b := strconv.AppendFloat(nil, float64(float32(s)), 'f', -1, 32)
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, '.', '0')
	}
	return b, nil
}

type shardsJSON struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Skipped    int `json:"skipped"`
	Failed     int `json:"failed"`
}

type totalJSON struct {
	Value    int    `json:"value"`
	Relation string `json:"relation"`
}

type hitJSON struct {
	Index       string `json:"_index"`
	ID          string `json:"_id"`
	Version     *int64 `json:"_version,omitempty"`
	SeqNo       *int64 `json:"_seq_no,omitempty"`
	PrimaryTerm *int64 `json:"_primary_term,omitempty"`
	Score       *score `json:"_score"`
	// Source and Sort are written by hitJSON.encode: encoding/json would
	// compact Source, and ES returns _source as indexed, byte for byte.
	Source json.RawMessage `json:"-"`
	Sort   []any           `json:"-"`
}

// encode appends the hit to b: the fields up to _score as encoding/json
// writes them, then _source verbatim and sort.
func (h *hitJSON) encode(b *bytes.Buffer) error {
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b.Write(head[:len(head)-1]) // without the closing brace
	if len(h.Source) > 0 {
		b.WriteString(`,"_source":`)
		b.Write(h.Source)
	}
	if len(h.Sort) > 0 {
		sort, err := json.Marshal(h.Sort)
		if err != nil {
			return err
		}
		b.WriteString(`,"sort":`)
		b.Write(sort)
	}
	b.WriteByte('}')
	return nil
}

type hitsJSON struct {
	Total    any       `json:"total,omitempty"`
	MaxScore *score    `json:"max_score"`
	Hits     []hitJSON `json:"hits"`
}

type responseJSON struct {
	PitID    *string    `json:"pit_id,omitempty"`
	Took     int64      `json:"took"`
	TimedOut bool       `json:"timed_out"`
	Shards   shardsJSON `json:"_shards"`
	Hits     hitsJSON   `json:"hits"`
}

func (r *searchRequest) render(targets []Target, opts Options, page []hit, total int, maxScore float64, scored bool, took time.Duration) ([]byte, error) {
	resp := responseJSON{
		PitID:  r.pitID,
		Took:   took.Milliseconds(),
		Shards: shardsJSON{Total: opts.Shards, Successful: opts.Shards},
		Hits:   hitsJSON{Hits: make([]hitJSON, 0, len(page))},
	}
	switch {
	case r.track == trackOff && r.totalAsInt:
		resp.Hits.Total = -1
	case r.track == trackOff:
	case r.totalAsInt:
		resp.Hits.Total = total
	case r.track != trackAccurate && total > r.track:
		resp.Hits.Total = totalJSON{Value: r.track, Relation: "gte"}
	default:
		resp.Hits.Total = totalJSON{Value: total, Relation: "eq"}
	}
	if scored && total > 0 && r.size > 0 {
		ms := score(maxScore)
		resp.Hits.MaxScore = &ms
	}
	for _, h := range page {
		d := targets[h.ti].Docs[h.i]
		hj := hitJSON{Index: d.Index, ID: d.ID}
		if hj.Index == "" {
			hj.Index = targets[h.ti].Index
		}
		if scored {
			sc := score(h.score)
			hj.Score = &sc
		}
		if r.version {
			hj.Version = &d.Version
		}
		if r.seqNo {
			hj.SeqNo, hj.PrimaryTerm = &d.SeqNo, &d.PrimaryTerm
		}
		if !r.source.off {
			src, err := r.source.render(d)
			if err != nil {
				return nil, err
			}
			hj.Source = src
		}
		if r.sort != nil {
			hj.Sort = make([]any, len(h.keys))
			for j, k := range h.keys {
				hj.Sort[j] = k.render()
			}
		}
		resp.Hits.Hits = append(resp.Hits.Hits, hj)
	}
	return encodeResponse(&resp)
}

// encodeResponse encodes resp as encoding/json does, except that the hits
// are written by hitJSON.encode (hits.hits is the last field of the
// response, so it is spliced in before the closing "]}}").
func encodeResponse(resp *responseJSON) ([]byte, error) {
	hits := resp.Hits.Hits
	resp.Hits.Hits = []hitJSON{}
	head, err := json.Marshal(resp)
	resp.Hits.Hits = hits
	if err != nil {
		return nil, err
	}
	const tail = "[]}}"
	if !bytes.HasSuffix(head, []byte(tail)) {
		return nil, &Error{Status: 500, Type: "exception", Reason: "render response: unexpected layout"}
	}
	var b bytes.Buffer
	b.Write(head[:len(head)-len(tail)])
	b.WriteByte('[')
	for i := range hits {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := hits[i].encode(&b); err != nil {
			return nil, err
		}
	}
	b.WriteString("]}}")
	return b.Bytes(), nil
}

func (f sourceFilter) render(d *Doc) (json.RawMessage, error) {
	if !f.active() && len(d.Raw) > 0 {
		return d.Raw, nil
	}
	src := d.Source
	if src == nil {
		src = map[string]any{}
	}
	if f.active() {
		src = f.apply(src, "")
	}
	b, err := json.Marshal(src)
	if err != nil {
		return nil, &Error{Status: 500, Type: "exception", Reason: "render _source: " + err.Error()}
	}
	return b, nil
}
