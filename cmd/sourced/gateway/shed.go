package gateway

import (
	"context"
	"net/http"
	"time"
)

// admit takes an in-flight slot for a command of aggregate (the name in
// the path, not yet checked), or returns the answer that sheds it: 503
// processors_behind while the aggregate's processors are more than
// Config.MaxCommandLag commands behind, 429 overloaded while
// Config.MaxInFlight commands are in flight. A command is shed before it
// is decoded and before anything is produced, so a client may retry it
// with the same Idempotency-Key. After a nil answer the caller must call
// release.
func (g *Gateway) admit(aggregate string) *apiError {
	a, known := g.aggs[aggregate]
	label := aggregate
	if !known {
		label = "unknown" // the name comes from the client: bound the label
	}
	if limit := g.cfg.MaxCommandLag; known && limit > 0 {
		if lag := a.lag.Load(); lag > limit {
			g.metrics.shed.WithLabelValues(label, ShedLag).Inc()
			return errorf(http.StatusServiceUnavailable, ShedLag,
				"the processors of %s are %d commands behind (the bound is %d): retry later with the same Idempotency-Key", aggregate, lag, limit)
		}
	}
	n := g.inFlight.Add(1)
	if limit := g.cfg.MaxInFlight; limit > 0 && n > int64(limit) {
		g.inFlight.Add(-1)
		g.metrics.shed.WithLabelValues(label, ShedInFlight).Inc()
		return errorf(http.StatusTooManyRequests, ShedInFlight,
			"this gateway has %d commands in flight, its bound: retry later with the same Idempotency-Key", limit)
	}
	g.metrics.inFlight.Inc()
	return nil
}

// release gives back the slot admit took.
func (g *Gateway) release() {
	g.inFlight.Add(-1)
	g.metrics.inFlight.Dec()
}

// watchLag stores Config.CommandLag of every aggregate every
// Config.LagCheck until ctx is done, so requests read an atomic rather
// than call it.
func (g *Gateway) watchLag(ctx context.Context) {
	t := time.NewTicker(g.cfg.LagCheck)
	defer t.Stop()
	for {
		for name, a := range g.aggs {
			lag, ok := g.cfg.CommandLag(name)
			if !ok {
				lag = -1
			}
			a.lag.Store(lag)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
