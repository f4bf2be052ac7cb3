package estest

import (
	"encoding/json"
	"fmt"
	"github.com/b2dc4357/sourced/views/elastic/estest/query"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// index is one concrete index. All fields are guarded by Server.mu.
type index struct {
	name     string
	uuid     string
	created  time.Time
	settings map[string]string // flat, "index."-prefixed, values as strings
	mapping  *mapping
	aliases  map[string]*aliasMeta

	seqNo int64 // last assigned sequence number; -1 when none
	docs  map[string]*doc
	tombs map[string]tomb

	searchable  []*doc          // documents visible to search, in index order
	searchByID  map[string]*doc // the same, by id (GET with realtime=false)
	dirtyShards map[int]bool    // shards written since their last refresh
	refreshGen  int64           // bumped by every refresh that changed searchable
	qdocs       []*query.Doc
	qdocsGen    int64
	lastRefresh time.Time
	defaults    Options
}

// doc is the live state of one document.
type doc struct {
	id      string
	raw     json.RawMessage // _source as indexed, byte-exact
	source  map[string]any  // decoded with UseNumber
	version int64
	seqNo   int64
	routing string
	shard   int
}

// tomb remembers a deleted document's version for index.gc_deletes.
type tomb struct {
	version int64
	seqNo   int64
	at      time.Time
}

func (s *Server) newIndex(name string, settings map[string]string, m *mapping) *index {
	s.seq++
	now := s.opts.Clock()
	ix := &index{
		name: name, uuid: fmt.Sprintf("estest%016x", s.seq), created: now,
		settings: map[string]string{}, mapping: m, aliases: map[string]*aliasMeta{},
		seqNo: -1, docs: map[string]*doc{}, dirtyShards: map[int]bool{}, tombs: map[string]tomb{}, lastRefresh: now, defaults: s.opts,
	}
	ix.settings["index.number_of_shards"] = strconv.Itoa(s.opts.DefaultShards)
	ix.settings["index.number_of_replicas"] = strconv.Itoa(s.opts.DefaultReplicas)
	for k, v := range settings {
		ix.settings[k] = v
	}
	if ix.mapping == nil {
		ix.mapping = newMapping()
	}
	return ix
}

func (ix *index) intSetting(k string, def int) int {
	if v, ok := ix.settings[k]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func (ix *index) shards() int   { return max(1, ix.intSetting("index.number_of_shards", 1)) }
func (ix *index) replicas() int { return max(0, ix.intSetting("index.number_of_replicas", 1)) }

func (ix *index) maxResultWindow() int {
	return ix.intSetting("index.max_result_window", ix.defaults.MaxResultWindow)
}

func (ix *index) refreshInterval() time.Duration {
	v, ok := ix.settings["index.refresh_interval"]
	if !ok {
		return ix.defaults.RefreshInterval
	}
	d, err := parseDuration(v)
	if err != nil {
		return ix.defaults.RefreshInterval
	}
	return d
}

func (ix *index) gcDeletes() time.Duration {
	v, ok := ix.settings["index.gc_deletes"]
	if !ok {
		return ix.defaults.GCDeletes
	}
	d, err := parseDuration(v)
	if err != nil {
		return ix.defaults.GCDeletes
	}
	return d
}

// writeShards is the _shards of a write: the primary plus its replicas,
// which a single node cannot allocate.
func (ix *index) writeShards() map[string]any {
	return map[string]any{"total": 1 + ix.replicas(), "successful": 1, "failed": 0}
}

// parseDuration parses ES time values: "1s", "500ms", "2m", "-1", "0".
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "-1" {
		return -1, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second},
		{"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				continue
			}
			return time.Duration(f * float64(u.d)), nil
		}
	}
	return 0, fmt.Errorf("failed to parse setting with value [%s] as a time value: unit is missing or unrecognized", v)
}

// validateIndexName applies ES's index name rules.
func validateIndexName(name string) *esError {
	bad := func(why string) *esError {
		return badRequest("invalid_index_name_exception", "Invalid index name [%s], %s", name, why).
			with("index_uuid", "_na_").with("index", name)
	}
	switch {
	case name == "":
		return bad("must not be empty")
	case name != strings.ToLower(name):
		return bad("must be lowercase")
	case name == "." || name == "..":
		return bad("must not be '.' or '..'")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return bad(`must not contain the following characters [' ','"','*',',','/','<','>','?','\','|']`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return bad("must not start with '_', '-', or '+'")
	case len(name) > 255:
		return bad("index name is too long, (" + strconv.Itoa(len(name)) + " > 255)")
	case !utf8.ValidString(name):
		return bad("must be valid UTF-8")
	}
	return nil
}

// flattenSettings turns nested or dotted settings into "index."-prefixed
// string values.
func flattenSettings(in map[string]any) (map[string]string, *esError) {
	out := map[string]string{}
	var walk func(prefix string, m map[string]any) *esError
	walk = func(prefix string, m map[string]any) *esError {
		for k, v := range m {
			key := prefix + k
			switch t := v.(type) {
			case map[string]any:
				if err := walk(key+".", t); err != nil {
					return err
				}
			case nil:
				// a null setting means "default": leave it out
			case []any:
				parts := make([]string, len(t))
				for i, e := range t {
					parts[i] = fmt.Sprint(e)
				}
				out[key] = strings.Join(parts, ",")
			default:
				out[key] = fmt.Sprint(t)
			}
		}
		return nil
	}
	if err := walk("", in); err != nil {
		return nil, err
	}
	norm := map[string]string{}
	for k, v := range out {
		if !strings.HasPrefix(k, "index.") {
			k = "index." + k
		}
		norm[k] = v
	}
	for _, k := range []string{"index.number_of_shards", "index.number_of_replicas", "index.max_result_window"} {
		if v, ok := norm[k]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (k == "index.number_of_shards" && n == 0) {
				return nil, illegalArg("Failed to parse value [%s] for setting [%s] must be >= %d", v, k, map[bool]int{true: 1, false: 0}[k == "index.number_of_shards"])
			}
		}
	}
	for _, k := range []string{"index.refresh_interval", "index.gc_deletes"} {
		if v, ok := norm[k]; ok {
			if _, err := parseDuration(v); err != nil {
				return nil, illegalArg("failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", k, v)
			}
		}
	}
	return norm, nil
}

// nestSettings turns flat settings back into the nested form GET returns.
func nestSettings(flat map[string]string) map[string]any {
	out := map[string]any{}
	for _, k := range sortedKeys(flat) {
		parts := strings.Split(k, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = flat[k]
	}
	return out
}

// settingsView is the index's settings as GET /_settings shows them.
func (ix *index) settingsView() map[string]any {
	flat := map[string]string{}
	for k, v := range ix.settings {
		flat[k] = v
	}
	flat["index.uuid"] = ix.uuid
	flat["index.provided_name"] = ix.name
	flat["index.creation_date"] = strconv.FormatInt(ix.created.UnixMilli(), 10)
	flat["index.version.created"] = "8536000"
	flat["index.routing.allocation.include._tier_preference"] = "data_content"
	return nestSettings(flat)
}

// sortedIndices returns indices sorted by name.
func sortedIndices(in []*index) []*index {
	sort.Slice(in, func(i, j int) bool { return in[i].name < in[j].name })
	return in
}
