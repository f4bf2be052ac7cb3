package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// Gateway is a Sender and Viewer over the sourced HTTP gateway:
// POST /v1/{aggregate}/{id}/{command} with the command id as
// Idempotency-Key, and GET /v1/views/{view}/{id}?min_version=N. Safe for
// concurrent use; it keeps a pool of connections to the gateway.
type Gateway struct {
	base   string
	token  string
	client *http.Client
}

// NewGateway returns a client of the gateway at baseURL (e.g.
// "http://127.0.0.1:8080"), sending token as a bearer token when not empty.
func NewGateway(baseURL, token string) (*Gateway, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway url %q: want http(s)://host:port", baseURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// One connection per aggregate in flight: without a large idle pool,
	// every burst would open and close connections.
	tr.MaxIdleConns = 4096
	tr.MaxIdleConnsPerHost = 4096
	return &Gateway{base: strings.TrimRight(u.String(), "/"), token: token, client: &http.Client{Transport: tr}}, nil
}

// Close releases the idle connections.
func (g *Gateway) Close() { g.client.CloseIdleConnections() }

// Ping checks that the gateway answers /healthz.
func (g *Gateway) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("ping gateway: %w", err)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("ping gateway %s: %w", g.base, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping gateway %s: /healthz answered %s", g.base, resp.Status)
	}
	return nil
}

// Send posts cmd and returns the result the gateway waited for. 200, 409
// and 422 carry a result; 202 (the result did not come in time) is a
// NoResultError "timeout"; 429 and 503 "processors_behind" (the gateway
// shed the command before producing it) a *ShedError; any other status a
// NoResultError "http_<status>".
func (g *Gateway) Send(ctx context.Context, cmd *codecs.Command) (codecs.Result, error) {
	body := []byte(cmd.Data)
	if len(body) == 0 {
		body = []byte("{}")
	}
	u := fmt.Sprintf("%s/v1/%s/%s/%s", g.base, url.PathEscape(cmd.Aggregate), url.PathEscape(cmd.AggregateID), url.PathEscape(cmd.Type))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return codecs.Result{}, &NoResultError{Reason: "request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", cmd.ID)
	if cmd.ExpectedVersion != nil {
		req.Header.Set("If-Match", strconv.FormatUint(*cmd.ExpectedVersion, 10))
	}
	g.authorize(req)
	resp, err := g.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return codecs.Result{}, &NoResultError{Reason: ctxReason(ctx), Err: err}
		}
		return codecs.Result{}, &NoResultError{Reason: "transport", Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return codecs.Result{}, &NoResultError{Reason: "transport", Err: err}
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusConflict, http.StatusUnprocessableEntity:
	case http.StatusAccepted:
		return codecs.Result{}, &NoResultError{Reason: "timeout", Err: errors.New("the gateway answered 202: no result in time")}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if e := shed(resp, b); e != nil {
			return codecs.Result{}, e
		}
		return codecs.Result{}, &NoResultError{Reason: "http_" + strconv.Itoa(resp.StatusCode), Err: fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))}
	default:
		return codecs.Result{}, &NoResultError{Reason: "http_" + strconv.Itoa(resp.StatusCode), Err: fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))}
	}
	var res codecs.Result
	if err := json.Unmarshal(b, &res); err != nil || res.Status == "" {
		return codecs.Result{}, &NoResultError{Reason: "bad_response", Err: fmt.Errorf("%s: body %q is not a result: %v", resp.Status, b, err)}
	}
	return res, nil
}

// shed returns the ShedError of a 429, or of a 503 "processors_behind"
// (other 503s, such as "unavailable", may have produced the command), and
// nil for any other answer.
func shed(resp *http.Response, body []byte) *ShedError {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusTooManyRequests && e.Code != "processors_behind" {
		return nil
	}
	se := &ShedError{Status: resp.StatusCode, Code: e.Code}
	if se.Code == "" {
		se.Code = "http_" + strconv.Itoa(resp.StatusCode)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		se.RetryAfter = time.Duration(secs) * time.Second
	}
	return se
}

// WaitVisible asks the gateway to wait until view shows id at version or
// later, and asks again while it answers 504 (its own wait ran out), until
// ctx is done.
func (g *Gateway) WaitVisible(ctx context.Context, view, id string, version uint64) error {
	u := fmt.Sprintf("%s/v1/views/%s/%s?min_version=%d", g.base, url.PathEscape(view), url.PathEscape(id), version)
	for {
		status, body, err := g.get(ctx, u)
		switch {
		case err != nil:
			return fmt.Errorf("read view %s/%s: %w", view, id, err)
		case status == http.StatusOK:
			return nil
		case status != http.StatusGatewayTimeout:
			return fmt.Errorf("read view %s/%s: %d: %s", view, id, status, body)
		}
	}
}

// CheckView checks that the gateway serves view: a read of a document that
// does not exist answers 404 with code "not_found" (or 200).
func (g *Gateway) CheckView(ctx context.Context, view string) error {
	u := fmt.Sprintf("%s/v1/views/%s/load-probe-absent", g.base, url.PathEscape(view))
	status, body, err := g.get(ctx, u)
	if err != nil {
		return fmt.Errorf("read view %s: %w", view, err)
	}
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	if status == http.StatusOK || (status == http.StatusNotFound && e.Code == "not_found") {
		return nil
	}
	return fmt.Errorf("gateway %s does not serve view %s: %d: %s", g.base, view, status, body)
}

// get reads u and returns the status and body (at most 1 MiB, trimmed).
func (g *Gateway) get(ctx context.Context, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	g.authorize(req)
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, bytes.TrimSpace(b), err
}

func (g *Gateway) authorize(req *http.Request) {
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
}
