package gateway

import (
	"context"
	"net/http"
	"time"
)

// admit takes an in-flight slot for a command of aggregate (the name in
// the path, not yet checked) and returns when it did, or returns the
// answer that sheds it: 503 processors_behind while the aggregate's
// processors are more than Config.MaxCommandLag commands behind, 429
// overloaded while the in-flight bound (Config.MaxInFlight, adapted to
// Config.TargetLatency) is reached. A command is shed before it is decoded
// and before anything is produced, so a client may retry it with the same
// Idempotency-Key. After a nil answer the caller must call release.
func (g *Gateway) admit(aggregate string, now time.Time) (admitted int64, _ *apiError) {
	a, known := g.aggs[aggregate]
	label := aggregate
	if !known {
		label = "unknown" // the name comes from the client: bound the label
	}
	if limit := g.cfg.MaxCommandLag; known && limit > 0 {
		if lag := a.lag.Load(); lag > limit {
			g.metrics.shed.WithLabelValues(label, ShedLag).Inc()
			return 0, errorf(http.StatusServiceUnavailable, ShedLag,
				"the processors of %s are %d commands behind (the bound is %d): retry later with the same Idempotency-Key", aggregate, lag, limit)
		}
	}
	admitted, ok := g.limiter.acquire(now)
	if !ok {
		g.metrics.shed.WithLabelValues(label, ShedInFlight).Inc()
		if g.limiter.adaptive() {
			return 0, errorf(http.StatusTooManyRequests, ShedInFlight,
				"this gateway has %d commands in flight, its bound while answers take longer than %v: retry later with the same Idempotency-Key",
				g.limiter.bound.Load(), g.limiter.target)
		}
		return 0, errorf(http.StatusTooManyRequests, ShedInFlight,
			"this gateway has %d commands in flight, its bound: retry later with the same Idempotency-Key", g.limiter.max)
	}
	g.metrics.inFlight.Inc()
	return admitted, nil
}

// release gives back the slot admit took at admitted; answered says the
// command was produced and answered (a result, or 202), at now.
func (g *Gateway) release(admitted int64, now time.Time, answered bool) {
	g.limiter.release(admitted, time.Duration(now.UnixNano()-admitted), answered)
	g.metrics.inFlight.Dec()
}

// adaptInFlight adapts the in-flight bound to Config.TargetLatency every
// adaptEvery until ctx is done.
func (g *Gateway) adaptInFlight(ctx context.Context) {
	t := time.NewTicker(adaptEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if bound, changed := g.limiter.adapt(now); changed {
				g.metrics.limit.Set(float64(bound))
			}
		}
	}
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
