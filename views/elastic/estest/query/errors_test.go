package query

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrors(t *testing.T) {
	b := books(t)
	const spe = "search_phase_execution_exception"
	tests := []struct {
		name      string
		body      string
		params    url.Values
		wantType  string // top-level type
		wantCause string // root cause type
		wantIn    string // part of the root cause reason
	}{
		{"unknown query", `{"query":{"foo":{}}}`, nil, "parsing_exception", "parsing_exception", "unknown query [foo]"},
		{"unsupported query", `{"query":{"fuzzy":{"title":"x"}}}`, nil, "parsing_exception", "parsing_exception", "query [fuzzy] is not supported by estest"},
		{"unknown nested query", `{"query":{"bool":{"must":[{"nope":{}}]}}}`, nil, "parsing_exception", "parsing_exception", "unknown query [nope]"},
		{"two queries in one object", `{"query":{"match_all":{},"term":{"a":"b"}}}`, nil, "parsing_exception", "parsing_exception", "malformed query"},
		{"unknown bool clause", `{"query":{"bool":{"shoud":[]}}}`, nil, "parsing_exception", "parsing_exception", "[bool] query does not support [shoud]"},
		{"term with two fields", `{"query":{"term":{"a":"x","b":"y"}}}`, nil, "parsing_exception", "parsing_exception", "[term] query doesn't support multiple fields, found [a] and [b]"},
		{"term with an unknown option", `{"query":{"term":{"a":{"value":"x","foo":1}}}}`, nil, "parsing_exception", "parsing_exception", "[term] query does not support [foo]"},
		{"match with an unknown option", `{"query":{"match":{"a":{"query":"x","foo":1}}}}`, nil, "parsing_exception", "parsing_exception", "[match] query does not support [foo]"},
		{"match with fuzziness", `{"query":{"match":{"a":{"query":"x","fuzziness":"AUTO"}}}}`, nil, "parsing_exception", "parsing_exception", "not supported by estest"},
		{"exists without field", `{"query":{"exists":{}}}`, nil, "parsing_exception", "parsing_exception", "[exists] must be provided with a [field]"},
		{"bad minimum_should_match", `{"query":{"bool":{"should":[],"minimum_should_match":"x%"}}}`, nil, "illegal_argument_exception", "illegal_argument_exception", "Invalid minimum_should_match"},
		{"query not an object", `{"query":"x"}`, nil, "parsing_exception", "parsing_exception", "query malformed"},
		{"unknown body key", `{"match":{"foo":"bar"}}`, nil, "parsing_exception", "parsing_exception", "Unknown key for a START_OBJECT in [match]."},
		{"unknown scalar body key", `{"foo":1}`, nil, "parsing_exception", "parsing_exception", "Unknown key for a VALUE_NUMBER in [foo]."},
		{"invalid JSON", `{"query":`, nil, "x_content_parse_exception", "x_content_parse_exception", "failed to parse"},
		{"a body that is not an object", `[1]`, nil, "parsing_exception", "parsing_exception", "must be a JSON object"},
		{"term on a long with a word", `{"query":{"term":{"n":"abc"}}}`, nil, spe, "query_shard_exception", `failed to create query: For input string: "abc"`},
		{"range on a date with garbage", `{"query":{"range":{"d":{"gte":"yesterday"}}}}`, nil, spe, "query_shard_exception", "failed to parse date field [yesterday]"},
		{"term on a boolean with a word", `{"query":{"term":{"ok":"yes"}}}`, nil, spe, "query_shard_exception", "only [true] or [false]"},
		{"prefix on a long", `{"query":{"prefix":{"n":"1"}}}`, nil, spe, "query_shard_exception", "Can only use prefix queries on keyword and text fields"},
		{"query_string syntax error", `{"query":{"query_string":{"query":"(a"}}}`, nil, spe, "query_shard_exception", "Failed to parse query [(a]"},

		{"negative from", `{"from":-5}`, nil, "illegal_argument_exception", "illegal_argument_exception", "[from] parameter cannot be negative but was [-5]"},
		{"negative size", `{"size":-1}`, nil, "illegal_argument_exception", "illegal_argument_exception", "[size] parameter cannot be negative, found [-1]"},
		{"negative URL from", ``, url.Values{"from": {"-2"}}, "illegal_argument_exception", "illegal_argument_exception", "[from] parameter cannot be negative"},
		{"size above int", `{"size":2147483648}`, nil, "x_content_parse_exception", "x_content_parse_exception", "Numeric value (2147483648) out of range of int"},
		{"bad URL size", ``, url.Values{"size": {"x"}}, "illegal_argument_exception", "illegal_argument_exception", "Failed to parse int parameter [size] with value [x]"},
		{"result window", ``, url.Values{"from": {"10000"}}, spe, "illegal_argument_exception",
			"Result window is too large, from + size must be less than or equal to: [10000] but was [10010]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."},
		{"result window from the body", `{"from":9990,"size":20}`, nil, spe, "illegal_argument_exception", "but was [10010]"},
		{"track_total_hits negative", ``, url.Values{"track_total_hits": {"-2"}}, "illegal_argument_exception", "illegal_argument_exception", "[track_total_hits] parameter must be positive or equals to -1, got -2"},
		{"rest_total_hits_as_int with a limit", ``, url.Values{"track_total_hits": {"100"}, "rest_total_hits_as_int": {"true"}}, "illegal_argument_exception", "illegal_argument_exception",
			"[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got 100"},

		{"sort on text", `{"sort":[{"title":"asc"}]}`, nil, spe, "illegal_argument_exception",
			"Fielddata is disabled on [title] in [books]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead."},
		{"sort on text with no hits", `{"query":{"match_none":{}},"sort":["title"]}`, nil, spe, "illegal_argument_exception", "Text fields are not optimised"},
		{"sort on _id", `{"sort":["_id"]}`, nil, spe, "illegal_argument_exception",
			"Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled"},
		{"sort on an unmapped field", `{"sort":["nope"]}`, nil, spe, "query_shard_exception", "No mapping found for [nope] in order to sort on"},
		{"sort with a bad order", `{"sort":[{"n":"up"}]}`, nil, "illegal_argument_exception", "illegal_argument_exception", "SortOrder"},
		{"sort with an unknown option", `{"sort":[{"n":{"foo":1}}]}`, nil, "parsing_exception", "parsing_exception", "[field_sort] unknown field [foo]"},
		{"search_after longer than sort", `{"sort":["n"],"search_after":[1,2]}`, nil, spe, "illegal_argument_exception", "search_after has 2 value(s) but sort has 1."},
		{"search_after without sort", `{"search_after":[1,"a"]}`, nil, spe, "illegal_argument_exception", "search_after has 2 value(s) but sort has 1."},
		{"search_after with from", `{"sort":["n"],"search_after":[1],"from":1}`, nil, "action_request_validation_exception", "action_request_validation_exception",
			"Validation Failed: 1: [from] parameter must be set to 0 when [search_after] is used;"},
		{"search_after value of the wrong type", `{"sort":["n"],"search_after":["x"]}`, nil, spe, "illegal_argument_exception", "Failed to parse search_after value for field [n]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := searchErr(t, tc.body, tc.params, b)
			if e.Status != 400 {
				t.Errorf("status %d, want 400", e.Status)
			}
			if e.Type != tc.wantType {
				t.Errorf("type %q, want %q (%v)", e.Type, tc.wantType, e)
			}
			rc := e.RootCause()
			if rc.Type != tc.wantCause || !strings.Contains(rc.Reason, tc.wantIn) {
				t.Errorf("root cause %s: %q, want %s containing %q", rc.Type, rc.Reason, tc.wantCause, tc.wantIn)
			}
		})
	}
}

func TestCountErrors(t *testing.T) {
	b := books(t)
	for _, tc := range []struct{ name, body, wantIn string }{
		{"a body key other than query", `{"match":{"foo":"bar"}}`, "request does not support [match]"},
		{"size is not a count option", `{"query":{"match_all":{}},"size":1}`, "request does not support [size]"},
		{"unknown query", `{"query":{"nope":{}}}`, "unknown query [nope]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Count([]byte(tc.body), nil, []Target{b}, Options{})
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.RootCause().Reason, tc.wantIn) {
				t.Errorf("Count error %v, want 400 containing %q", err, tc.wantIn)
			}
		})
	}
}

func TestErrorEnvelope(t *testing.T) {
	e := shardFailure(illegalArg("Result window is too large"))
	var got map[string]any
	if err := json.Unmarshal(e.Envelope(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"error": map[string]any{
			"root_cause": []any{map[string]any{"type": "illegal_argument_exception", "reason": "Result window is too large"}},
			"type":       "search_phase_execution_exception",
			"reason":     "all shards failed",
			"caused_by":  map[string]any{"type": "illegal_argument_exception", "reason": "Result window is too large"},
		},
		"status": float64(400),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
	if s := e.Error(); !strings.Contains(s, "search_phase_execution_exception") || !strings.Contains(s, "Result window") {
		t.Errorf("Error() = %q", s)
	}
}
