package esyaml

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Response is the last response of a section. Assertions read Body.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	// Body is the decoded JSON body (numbers as json.Number). An empty
	// body, as HEAD returns, decodes to Status == 200 so that is_true: ''
	// tests existence. A body that is not JSON is kept as a string.
	Body any
}

// send executes req against base and decodes the response.
func (r *Runner) send(ctx context.Context, req *Request) (*Response, error) {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, r.base+req.URL(), body)
	if err != nil {
		return nil, fmt.Errorf("new request %s %s: %w", req.Method, req.URL(), err)
	}
	hr.Header = req.Header.Clone()
	r.authorize(hr)
	resp, err := r.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("send %s %s: %w", req.Method, req.URL(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response of %s %s: %w", req.Method, req.URL(), err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw, Body: decodeBody(resp.StatusCode, raw)}, nil
}

func (r *Runner) authorize(hr *http.Request) {
	switch {
	case r.cfg.APIKey != "":
		hr.Header.Set("Authorization", "ApiKey "+r.cfg.APIKey)
	case r.cfg.Username != "":
		hr.SetBasicAuth(r.cfg.Username, r.cfg.Password)
	}
}

func decodeBody(status int, raw []byte) any {
	if len(bytes.TrimSpace(raw)) == 0 {
		return status == http.StatusOK
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	return v
}

// namedCatches maps catch names to HTTP statuses.
var namedCatches = map[string]int{
	"bad_request":     400,
	"unauthorized":    401,
	"forbidden":       403,
	"missing":         404,
	"request_timeout": 408,
	"conflict":        409,
	"unavailable":     503,
}

// checkCatch reports why resp does not satisfy catch, or "" when it does.
// catch "param" is handled before the request is sent.
func checkCatch(catch string, resp *Response) string {
	if want, ok := namedCatches[catch]; ok {
		if resp.Status != want {
			return fmt.Sprintf("catch %s: want status %d, got %d", catch, want, resp.Status)
		}
		return ""
	}
	if resp.Status < 400 {
		return fmt.Sprintf("catch %s: want an error status, got %d", catch, resp.Status)
	}
	if catch == "request" {
		for name, st := range namedCatches {
			if resp.Status == st {
				return fmt.Sprintf("catch request: status %d is the named catch %s", st, name)
			}
		}
		return ""
	}
	if re, ok := isRegex(catch); ok {
		// Unlike match, the upstream runners compile catch regexes without
		// COMMENTS mode and search the response's "error" value, so the
		// regex is tried on the error's unescaped strings and on the raw
		// body.
		rx, err := regexp.Compile(re)
		if err != nil {
			return fmt.Sprintf("catch %s: compile regex: %v", catch, err)
		}
		m, _ := resp.Body.(map[string]any)
		errVal, hasErr := m["error"]
		if !hasErr {
			return fmt.Sprintf("catch %s: the response has no error field", catch)
		}
		if !rx.MatchString(strings.Join(leafStrings(errVal, nil), "\n")) && !rx.Match(resp.Raw) {
			return fmt.Sprintf("catch %s: the error does not match", catch)
		}
		return ""
	}
	return fmt.Sprintf("catch %q: unknown catch", catch)
}

// warningRE extracts the quoted text of a Warning header value such as
// `299 Elasticsearch-8.19.0-abc "message" "date"`.
var warningRE = regexp.MustCompile(`^\d{3} \S+ "((?:\\.|[^"\\])*)"`)

// toleratedWarnings are emitted by real clusters independently of the
// request and are never a test failure.
var toleratedWarnings = []string{"security features are not enabled"}

// checkWarnings compares the response's Warning headers with the step's
// warnings (all must appear) and allowed_warnings (may appear). Any other
// warning is a failure, as in the upstream runners.
func checkWarnings(d *Do, h http.Header) string {
	var got []string
	for _, v := range h.Values("Warning") {
		if m := warningRE.FindStringSubmatch(v); m != nil {
			if s, err := strconv.Unquote(`"` + m[1] + `"`); err == nil {
				got = append(got, s)
				continue
			}
			got = append(got, m[1])
		} else {
			got = append(got, v)
		}
	}
	var problems []string
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range d.Warnings {
		if !seen[w] {
			problems = append(problems, fmt.Sprintf("missing warning %q", w))
		}
	}
next:
	for _, g := range got {
		for _, w := range append(append([]string(nil), d.Warnings...), d.AllowedWarning...) {
			if g == w {
				continue next
			}
		}
		for _, t := range toleratedWarnings {
			if strings.Contains(g, t) {
				continue next
			}
		}
		problems = append(problems, fmt.Sprintf("unexpected warning %q", g))
	}
	return strings.Join(problems, "; ")
}

// leafStrings appends the scalar leaves of v (strings unescaped) to out.
func leafStrings(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = leafStrings(x[k], out)
		}
	case []any:
		for _, e := range x {
			out = leafStrings(e, out)
		}
	default:
		out = append(out, valueText(x))
	}
	return out
}
