package elastic

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// roundTripper wraps the HTTP transport under go-elasticsearch's retry
// loop, so it sees every attempt: it bounds each attempt with the request
// timeout and logs failed attempts at Debug.
type roundTripper struct {
	next    http.RoundTripper
	timeout time.Duration
	log     *slog.Logger
}

// RoundTrip runs one attempt. A timed-out attempt fails with a transport
// error, which the retry loop retries while the caller's context lives.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.timeout <= 0 {
		return rt.roundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), rt.timeout)
	res, err := rt.roundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	// The attempt's context must live until the body is read.
	res.Body = &cancelBody{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

func (rt *roundTripper) roundTrip(req *http.Request) (*http.Response, error) {
	res, err := rt.next.RoundTrip(req)
	if err != nil {
		rt.log.LogAttrs(req.Context(), slog.LevelDebug, "elastic: request failed",
			slog.String("method", req.Method), slog.String("path", req.URL.Path), slog.String("error", err.Error()))
		return nil, err
	}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		rt.log.LogAttrs(req.Context(), slog.LevelDebug, "elastic: request rejected",
			slog.String("method", req.Method), slog.String("path", req.URL.Path), slog.Int("status", res.StatusCode))
	}
	return res, nil
}

// cancelBody releases the attempt's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
