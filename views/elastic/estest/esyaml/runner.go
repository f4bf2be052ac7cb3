package esyaml

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Runner. The zero value is not usable: BaseURL is
// required.
type Config struct {
	// BaseURL is the server's root, e.g. http://localhost:9200.
	BaseURL string
	// Client sends the requests. Default: a client with a 30s timeout
	// (skipping TLS verification when InsecureTLS is set).
	Client *http.Client
	// Username and Password enable basic auth; APIKey, when set, is sent
	// as "Authorization: ApiKey <key>" instead.
	Username, Password, APIKey string
	// InsecureTLS skips certificate verification of the default client.
	InsecureTLS bool
}

// Runner executes YAML test sections against one server. It is not safe
// for concurrent use: sections share the server's state.
type Runner struct {
	cfg    Config
	base   string
	client *http.Client
}

// New returns a Runner for cfg.
func New(cfg Config) (*Runner, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("esyaml: Config.BaseURL is required")
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("esyaml: Config.BaseURL: %w", err)
	}
	c := cfg.Client
	if c == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.InsecureTLS {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in for test clusters with self-signed certificates
		}
		c = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	return &Runner{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), client: c}, nil
}

// Outcome is the result class of a section.
type Outcome int

// The outcomes of a section.
const (
	Pass Outcome = iota
	Fail
	Skipped
)

func (o Outcome) String() string {
	switch o {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "skip"
}

// Result is the outcome of one section.
type Result struct {
	Suite, File, Section string
	Outcome              Outcome
	// Reason says why a section was skipped.
	Reason string
	// Failure describes the first failed step: the step, the request, the
	// response and the expected and actual values.
	Failure  string
	Duration time.Duration
}

// section is the per-section state: the stash, the last request and
// response, and the point-in-time ids to close afterwards.
type section struct {
	suite   *Suite
	stash   stash
	lastReq *Request
	last    *Response
	pits    []string
}

// RunSection runs section s of file f: the setup, the section's steps and
// the teardown (always, even after a failure), then deletes every index
// that did not exist before and closes the points in time it opened. The
// first failure is returned in Result.Failure; cleanup problems are
// appended to it.
func (r *Runner) RunSection(ctx context.Context, suite *Suite, f *File, s *Section) (res Result) {
	res = Result{Suite: suite.Name, File: f.Name, Section: s.Name}
	if why := SkipReason(f, s, suite.Version); why != "" {
		res.Outcome, res.Reason = Skipped, why
		return res
	}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	before, err := r.Indices(ctx)
	if err != nil {
		res.Outcome, res.Failure = Fail, fmt.Sprintf("list indices before the section: %v", err)
		return res
	}
	st := &section{suite: suite, stash: stash{vals: map[string]any{}}}
	var failures []string
	if msg := r.runSteps(ctx, st, "setup", f.Setup); msg != "" {
		failures = append(failures, msg)
	} else if msg := r.runSteps(ctx, st, "section", s.Steps); msg != "" {
		failures = append(failures, msg)
	}
	if msg := r.runSteps(ctx, st, "teardown", f.Teardown); msg != "" {
		failures = append(failures, msg)
	}
	if err := r.cleanup(ctx, before, st.pits); err != nil {
		failures = append(failures, "cleanup: "+err.Error())
	}
	if len(failures) > 0 {
		res.Outcome, res.Failure = Fail, strings.Join(failures, "\n")
	}
	return res
}

// runSteps runs steps in order and stops at the first failure, which it
// describes.
func (r *Runner) runSteps(ctx context.Context, st *section, phase string, steps []Step) string {
	for i, step := range steps {
		var msg string
		if step.Op == "do" {
			msg = r.do(ctx, st, step.Do)
		} else {
			msg = st.assert(step)
		}
		if msg != "" {
			return st.describe(fmt.Sprintf("%s step %d (%s, line %d)", phase, i+1, step.Op, step.Line), msg, step.Op == "do")
		}
	}
	return ""
}

func (r *Runner) do(ctx context.Context, st *section, d *Do) string {
	st.lastReq, st.last = nil, nil
	api := st.suite.Specs[d.API]
	if api == nil {
		return fmt.Sprintf("no spec for API %q in suite %s", d.API, st.suite.Name)
	}
	resolved, err := st.stash.resolve(d.Args)
	if err != nil {
		return err.Error()
	}
	args, _ := resolved.(map[string]any)
	headers := map[string]string{}
	for k, v := range d.Headers {
		rv, err := st.stash.resolve(v)
		if err != nil {
			return err.Error()
		}
		headers[k] = scalarString(toPlain(rv))
	}
	req, err := BuildRequest(api, args, headers)
	var pe *ParamError
	if errors.As(err, &pe) {
		if d.Catch == "param" {
			return ""
		}
		return err.Error()
	}
	if err != nil {
		return err.Error()
	}
	if d.Catch == "param" {
		return fmt.Sprintf("catch param: want a client-side error, but %s %s was valid", req.Method, req.URL())
	}
	st.lastReq = req
	resp, err := r.send(ctx, req)
	if err != nil {
		return err.Error()
	}
	st.last = resp
	st.stash.body = resp.Body
	if d.API == "open_point_in_time" && resp.Status < 300 {
		if m, ok := resp.Body.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				st.pits = append(st.pits, id)
			}
		}
	}
	switch {
	case d.Catch != "":
		if msg := checkCatch(d.Catch, resp); msg != "" {
			return msg
		}
	case resp.Status >= 400 && !ignored(req, resp.Status):
		return fmt.Sprintf("unexpected status %d", resp.Status)
	}
	return checkWarnings(d, resp.Header)
}

// ignored reports whether an error status is tolerated: listed in
// "ignore", or a 404 of a HEAD request (exists APIs answer "no" that way).
func ignored(req *Request, status int) bool {
	if status == http.StatusNotFound && req.Method == http.MethodHead {
		return true
	}
	for _, s := range req.Ignore {
		if s == status {
			return true
		}
	}
	return false
}

// maxShown bounds request and response bodies in failure messages.
const maxShown = 2048

func truncate(b []byte) string {
	if len(b) <= maxShown {
		return string(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", b[:maxShown], len(b))
}

// describe formats a failure with the last request and response.
func (st *section) describe(where, msg string, isDo bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", where, msg)
	if st.lastReq != nil {
		fmt.Fprintf(&b, "\n  request: %s %s", st.lastReq.Method, st.lastReq.URL())
		if st.lastReq.Body != nil {
			fmt.Fprintf(&b, "\n  request body: %s", strings.TrimRight(truncate(st.lastReq.Body), "\n"))
		}
	}
	if st.last != nil {
		fmt.Fprintf(&b, "\n  response: %d %s", st.last.Status, truncate(st.last.Raw))
	} else if !isDo {
		b.WriteString("\n  (no response)")
	}
	return b.String()
}
