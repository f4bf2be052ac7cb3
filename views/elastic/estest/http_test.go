package estest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// send issues a raw HTTP request and returns the status, headers and body.
func send(t *testing.T, method, url, ct, payload string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestContentTypes(t *testing.T) {
	ts := httptest.NewServer(estest.New(estest.Options{}))
	defer ts.Close()
	line := `{"index":{"_index":"c"}}` + "\n{}\n"
	for _, ct := range []string{
		"application/json",
		"application/x-ndjson",
		"application/vnd.elasticsearch+json;compatible-with=8",
		"application/vnd.elasticsearch+x-ndjson; compatible-with=8",
	} {
		st, h, b := send(t, "POST", ts.URL+"/_bulk", ct, line)
		if st != 200 || h.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s: %d %s", ct, st, b)
		}
	}
	if st, _, b := send(t, "POST", ts.URL+"/_bulk", "text/plain", line); st != 406 {
		t.Errorf("text/plain: %d %s, want 406", st, b)
	}
	if st, h, _ := send(t, "GET", ts.URL+"/_nope/x/y/z", "", ""); st != 400 || h.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("unknown route: %d, want 400 with the product header", st)
	}
}

func TestBulkWholeRequestErrors(t *testing.T) {
	ts := httptest.NewServer(estest.New(estest.Options{}))
	defer ts.Close()
	cases := []struct{ name, body, typ, reason string }{
		{"unknown metadata key", `{"index":{"_index":"a","_type":"doc"}}` + "\n{}\n", "illegal_argument_exception", "Action/metadata line [1] contains an unknown parameter [_type]"},
		{"no trailing newline", `{"delete":{"_index":"a","_id":"1"}}`, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"},
		{"external version without version", `{"index":{"_index":"a","_id":"1","version_type":"external"}}` + "\n{}\n", "action_request_validation_exception", "Validation Failed: 1: illegal version value [-3] for version type [EXTERNAL];"},
		{"seq_no with versioning", `{"index":{"_index":"a","_id":"1","if_seq_no":1,"if_primary_term":1,"version":2,"version_type":"external"}}` + "\n{}\n", "action_request_validation_exception", "Validation Failed: 1: compare and write operations can not use versioning;"},
		{"empty body", "\n", "action_request_validation_exception", "Validation Failed: 1: no requests added;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _, b := send(t, "POST", ts.URL+"/_bulk", "application/x-ndjson", c.body)
			var m struct {
				Error struct{ Type, Reason string }
			}
			_ = json.Unmarshal([]byte(b), &m)
			if st != 400 || m.Error.Type != c.typ || m.Error.Reason != c.reason {
				t.Fatalf("%d %s", st, b)
			}
		})
	}
}

func TestFaultDurationsFollowTheServerClock(t *testing.T) {
	clock := newFakeClock()
	srv := estest.New(estest.Options{Clock: clock.Now})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	srv.Faults().RejectRequestsFor("/_count", 503, 10*time.Second)
	if st, _, _ := send(t, "GET", ts.URL+"/_count", "", ""); st != 503 {
		t.Fatalf("during the fault: %d, want 503", st)
	}
	clock.Advance(10 * time.Second)
	if st, _, b := send(t, "GET", ts.URL+"/_count", "", ""); st != 200 {
		t.Fatalf("after the fault: %d %s", st, b)
	}
}

func TestDelayHonoursTheClientDeadline(t *testing.T) {
	srv := estest.New(estest.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	srv.Faults().Delay("/", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/", nil)
	start := time.Now()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("want a deadline error")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the delay ignored the deadline")
	}
	srv.Reset()
	if st, _, _ := send(t, "GET", ts.URL+"/", "", ""); st != 200 {
		t.Fatalf("after Reset: %d", st)
	}
}

// Example shows the server behind httptest with a write, a refresh and a
// search over real HTTP.
func Example() {
	ts := httptest.NewServer(estest.New(estest.Options{}))
	defer ts.Close()
	post := func(path, ct, body string) string {
		res, err := http.Post(ts.URL+path, ct, strings.NewReader(body))
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return fmt.Sprint(res.StatusCode, " errors=", m["errors"], " count=", m["count"])
	}
	fmt.Println(post("/_bulk", "application/x-ndjson", `{"index":{"_index":"books","_id":"1","version":3,"version_type":"external"}}`+"\n"+`{"title":"Dune"}`+"\n"))
	fmt.Println(post("/books/_count", "application/json", `{}`))
	fmt.Println(post("/books/_refresh", "application/json", ``))
	fmt.Println(post("/books/_count", "application/json", `{"query":{"match":{"title":"dune"}}}`))
	// Output:
	// 200 errors=false count=<nil>
	// 200 errors=<nil> count=0
	// 200 errors=<nil> count=<nil>
	// 200 errors=<nil> count=1
}

// TestSourceKeptByteForByte: GET, GET _source and search hits return
// _source exactly as indexed, whether it came from PUT or _bulk; source
// filtering and update re-encode it, as in Elasticsearch.
func TestSourceKeptByteForByte(t *testing.T) {
	ts := httptest.NewServer(estest.New(estest.Options{}))
	defer ts.Close()
	put := "{ \"a\" : 1,\n \"b\":2.50, \"s\":\"<&> \\u00e9\" }"
	bulk := "{ \"a\" : 3 ,\"b\":[ 1, 2 ] }"
	if st, _, b := send(t, "PUT", ts.URL+"/x/_doc/1", "application/json", put); st != 201 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	nd := `{"index":{"_index":"x","_id":"2"}}` + "\n" + bulk + "\n"
	if st, _, b := send(t, "POST", ts.URL+"/_bulk?refresh=true", "application/x-ndjson", nd); st != 200 || strings.Contains(b, `"errors":true`) {
		t.Fatalf("_bulk: %d %s", st, b)
	}
	for id, src := range map[string]string{"1": put, "2": bulk} {
		if _, _, b := send(t, "GET", ts.URL+"/x/_doc/"+id, "", ""); !strings.Contains(b, `"_source":`+src+`,`) || !json.Valid([]byte(b)) {
			t.Errorf("GET %s: %s, want _source %s", id, b, src)
		}
		if _, _, b := send(t, "GET", ts.URL+"/x/_source/"+id, "", ""); b != src {
			t.Errorf("GET _source %s: %s, want %s", id, b, src)
		}
		_, _, b := send(t, "POST", ts.URL+"/x/_search", "application/json", `{"query":{"ids":{"values":["`+id+`"]}}}`)
		if !strings.Contains(b, `"_source":`+src+`}`) || !json.Valid([]byte(b)) {
			t.Errorf("search %s: %s, want _source %s", id, b, src)
		}
	}
	if _, _, b := send(t, "GET", ts.URL+"/x/_doc/1?_source_includes=b", "", ""); !strings.Contains(b, `"_source":{"b":2.50}`) {
		t.Errorf("filtered GET: %s", b)
	}
	send(t, "POST", ts.URL+"/x/_update/2", "application/json", `{"doc":{"c":true}}`)
	if _, _, b := send(t, "GET", ts.URL+"/x/_source/2", "", ""); b != `{"a":3,"b":[1,2],"c":true}` {
		t.Errorf("updated source: %s", b)
	}
}
