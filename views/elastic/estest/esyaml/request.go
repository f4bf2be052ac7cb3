package esyaml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Request is an HTTP request built from a "do" step. It is kept so that a
// failure can show exactly what was sent.
type Request struct {
	Method string
	// Path is the escaped URL path without the query string.
	Path   string
	Query  url.Values
	Header http.Header
	// Body is nil when the step has no body.
	Body []byte
	// Ignore lists statuses the step tolerates (the client-side "ignore").
	Ignore []int
}

// URL returns the path and query string.
func (r *Request) URL() string {
	if len(r.Query) == 0 {
		return r.Path
	}
	return r.Path + "?" + r.Query.Encode()
}

// ParamError is a client-side error: an unknown parameter or a missing
// required URL part. A step with "catch: param" expects one.
type ParamError struct {
	API string
	Msg string
}

func (e *ParamError) Error() string { return fmt.Sprintf("esyaml: %s: %s", e.API, e.Msg) }

// BuildRequest turns the (already stash-resolved) arguments of a do step
// into a request for api. Arguments naming a URL part fill the path; among
// the paths whose parts are all given, the one with the most parts wins.
// "body" becomes the body, "ignore" is kept client-side, and everything
// else must be a query parameter of the spec. It returns a *ParamError for
// unknown parameters and missing parts.
func BuildRequest(api *API, args map[string]any, headers map[string]string) (*Request, error) {
	req := &Request{Query: url.Values{}, Header: http.Header{}}
	var body any
	hasBody := false
	parts := map[string]string{}
	names := make([]string, 0, len(args))
	for k := range args {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := args[k]
		switch {
		case k == "body":
			body, hasBody = v, v != nil
		case k == "ignore":
			for _, s := range stringList(v) {
				n, err := strconv.Atoi(s)
				if err != nil {
					return nil, &ParamError{API: api.Name, Msg: fmt.Sprintf("ignore: bad status %q", s)}
				}
				req.Ignore = append(req.Ignore, n)
			}
		case v == nil || isEmptyList(v):
			// A null argument or an empty list is treated as absent, as the
			// Java client does: "index: []" refreshes all indices.
		case api.IsPart(k):
			parts[k] = pathValue(v)
		case api.Params[k]:
			req.Query.Set(k, queryValue(v))
		default:
			return nil, &ParamError{API: api.Name, Msg: fmt.Sprintf("unknown parameter [%s]", k)}
		}
	}
	p, err := selectPath(api, parts)
	if err != nil {
		return nil, err
	}
	req.Path = p.expand(parts)
	// A part the chosen path does not use is sent as a parameter if the
	// spec allows that, as the official clients do.
	for k, v := range parts {
		if p.has(k) {
			continue
		}
		if !api.Params[k] {
			return nil, &ParamError{API: api.Name, Msg: fmt.Sprintf("part [%s] is not used by path %s", k, p.Template)}
		}
		req.Query.Set(k, v)
	}
	req.Method = p.Methods[0]
	if hasBody {
		for _, m := range p.Methods {
			if m == http.MethodPost {
				req.Method = m
			}
		}
		b, err := encodeBody(api, body)
		if err != nil {
			return nil, err
		}
		req.Body = b
		req.Header.Set("Content-Type", api.ContentType)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req, nil
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

func selectPath(api *API, parts map[string]string) (Path, error) {
	best := -1
	for i, p := range api.Paths {
		ok := true
		for _, part := range p.Parts {
			if _, given := parts[part]; !given {
				ok = false
				break
			}
		}
		if ok && (best < 0 || len(p.Parts) > len(api.Paths[best].Parts)) {
			best = i
		}
	}
	if best < 0 {
		return Path{}, &ParamError{API: api.Name, Msg: "no path matches the given parts (missing required part)"}
	}
	return api.Paths[best], nil
}

func (p Path) has(part string) bool {
	for _, x := range p.Parts {
		if x == part {
			return true
		}
	}
	return false
}

func (p Path) expand(parts map[string]string) string {
	s := p.Template
	for _, name := range p.Parts {
		s = strings.ReplaceAll(s, "{"+name+"}", parts[name])
	}
	return s
}

// pathValue escapes a part value. List elements are escaped one by one and
// joined with a literal comma; '*' stays literal so wildcards read as
// written, and '+' is escaped so no server decodes it as a space.
func pathValue(v any) string {
	var elems []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			elems = append(elems, scalarString(e))
		}
	} else {
		elems = strings.Split(scalarString(v), ",")
	}
	for i, e := range elems {
		e = url.PathEscape(e)
		e = strings.ReplaceAll(e, "%2A", "*")
		elems[i] = strings.ReplaceAll(e, "+", "%2B")
	}
	return strings.Join(elems, ",")
}

func queryValue(v any) string {
	if l, ok := v.([]any); ok {
		s := make([]string, len(l))
		for i, e := range l {
			s[i] = scalarString(e)
		}
		return strings.Join(s, ",")
	}
	return scalarString(v)
}

// scalarString formats a scalar as ES expects it in a URL: booleans as
// true/false, numbers in decimal, maps as JSON.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any, []any:
		b, _ := marshalJSON(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// encodeBody serialises a body. NDJSON APIs take a list (one line per
// element; strings verbatim, anything else as JSON) or a string, always
// ending in a newline. Other APIs send strings verbatim and JSON otherwise.
func encodeBody(api *API, body any) ([]byte, error) {
	if s, ok := body.(string); ok {
		if api.NDJSON() && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		return []byte(s), nil
	}
	if l, ok := body.([]any); ok && api.NDJSON() {
		var buf bytes.Buffer
		for _, e := range l {
			if s, ok := e.(string); ok {
				buf.WriteString(s)
			} else {
				b, err := marshalJSON(e)
				if err != nil {
					return nil, fmt.Errorf("encode %s body line: %w", api.Name, err)
				}
				buf.Write(b)
			}
			buf.WriteByte('\n')
		}
		return buf.Bytes(), nil
	}
	b, err := marshalJSON(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s body: %w", api.Name, err)
	}
	return b, nil
}

// marshalJSON encodes v without HTML escaping and without a trailing
// newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
