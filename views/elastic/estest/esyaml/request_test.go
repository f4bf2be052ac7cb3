package esyaml_test

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/views/elastic/estest/esyaml"
)

func loadSpecs(t *testing.T, dir string) esyaml.Specs {
	t.Helper()
	specs, err := esyaml.LoadSpecs(os.DirFS("testdata/es-rest-yaml"), dir)
	if err != nil {
		t.Fatal(err)
	}
	return specs
}

func TestBuildRequest(t *testing.T) {
	osSpecs := loadSpecs(t, "api")
	esSpecs := loadSpecs(t, "_elasticsearch-8.19/api")
	cases := []struct {
		name   string
		specs  esyaml.Specs
		api    string
		args   map[string]any
		method string
		url    string
		body   string
		ctype  string
	}{
		{
			name: "get picks the path with index and id", specs: esSpecs, api: "get",
			args:   map[string]any{"index": "test", "id": int64(1), "realtime": false},
			method: "GET", url: "/test/_doc/1?realtime=false",
		},
		{
			name: "index with a body prefers POST", specs: esSpecs, api: "index",
			args:   map[string]any{"index": "i", "id": "1", "body": map[string]any{"f": int64(1)}, "refresh": true},
			method: "POST", url: "/i/_doc/1?refresh=true", body: `{"f":1}`, ctype: "application/json",
		},
		{
			name: "index without id falls back to the shorter path", specs: esSpecs, api: "index",
			args:   map[string]any{"index": "i", "body": map[string]any{}},
			method: "POST", url: "/i/_doc", body: `{}`, ctype: "application/json",
		},
		{
			name: "put_alias picks the path with most parts", specs: osSpecs, api: "indices.put_alias",
			args:   map[string]any{"index": "a", "name": "b"},
			method: "PUT", url: "/a/_alias/b",
		},
		{
			name: "put_alias with only an index", specs: osSpecs, api: "indices.put_alias",
			args:   map[string]any{"index": "a"},
			method: "PUT", url: "/a/_alias",
		},
		{
			name: "lists join with commas and parts are escaped", specs: esSpecs, api: "indices.get_alias",
			args:   map[string]any{"index": []any{"test-weird-index-中文", "x*"}, "name": "a/b"},
			method: "GET", url: "/test-weird-index-%E4%B8%AD%E6%96%87,x*/_alias/a%2Fb",
		},
		{
			name: "exists is HEAD", specs: esSpecs, api: "exists",
			args:   map[string]any{"index": "i", "id": "x"},
			method: "HEAD", url: "/i/_doc/x",
		},
		{
			name: "common params and query lists", specs: osSpecs, api: "search",
			args:   map[string]any{"index": "i", "filter_path": []any{"hits.total", "took"}, "size": int64(0), "rest_total_hits_as_int": true},
			method: "GET", url: "/i/_search?filter_path=hits.total%2Ctook&rest_total_hits_as_int=true&size=0",
		},
		{
			name: "bulk list body is ndjson", specs: osSpecs, api: "bulk",
			args: map[string]any{"refresh": true, "body": []any{
				map[string]any{"index": map[string]any{"_index": "t", "_id": "1"}},
				map[string]any{"f": "<v>"},
				`{"delete": {"_index": "t", "_id": "2"}}`,
			}},
			method: "POST", url: "/_bulk?refresh=true",
			body:  "{\"index\":{\"_id\":\"1\",\"_index\":\"t\"}}\n{\"f\":\"<v>\"}\n{\"delete\": {\"_index\": \"t\", \"_id\": \"2\"}}\n",
			ctype: "application/x-ndjson",
		},
		{
			name: "bulk string body gets a final newline", specs: esSpecs, api: "bulk",
			args:   map[string]any{"index": "t", "body": "{\"index\":{}}\n{\"f\":1}"},
			method: "POST", url: "/t/_bulk", body: "{\"index\":{}}\n{\"f\":1}\n", ctype: "application/x-ndjson",
		},
		{
			name: "an empty list part is absent", specs: osSpecs, api: "indices.refresh",
			args:   map[string]any{"index": []any{}},
			method: "POST", url: "/_refresh",
		},
		{
			name: "null args are absent and floats print plainly", specs: esSpecs, api: "search",
			args:   map[string]any{"index": nil, "timeout": nil, "size": 2.5},
			method: "GET", url: "/_search?size=2.5",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := esyaml.BuildRequest(c.specs[c.api], c.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{req.Method, req.URL(), string(req.Body), req.Header.Get("Content-Type")}
			want := []string{c.method, c.url, c.body, c.ctype}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("method, url, body, content type (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRequestParamErrors(t *testing.T) {
	specs := loadSpecs(t, "api")
	cases := []struct {
		name string
		api  string
		args map[string]any
	}{
		{"a missing required part", "create", map[string]any{"index": "i", "body": map[string]any{}}},
		{"an unknown parameter", "get", map[string]any{"index": "i", "id": "1", "foo": "bar"}},
		{"a bad ignore", "get", map[string]any{"index": "i", "id": "1", "ignore": "x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := esyaml.BuildRequest(specs[c.api], c.args, nil)
			var pe *esyaml.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParamError", err)
			}
		})
	}
}

func TestBuildRequestHeadersAndIgnore(t *testing.T) {
	specs := loadSpecs(t, "api")
	req, err := esyaml.BuildRequest(specs["bulk"], map[string]any{"body": "x\n", "ignore": []any{int64(404), int64(400)}},
		map[string]string{"Content-Type": "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want the step's header to win", got)
	}
	if diff := cmp.Diff([]int{404, 400}, req.Ignore); diff != "" {
		t.Errorf("ignore (-want +got):\n%s", diff)
	}
}
