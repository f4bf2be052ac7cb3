package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/state"
)

// runTable runs a goka View of the aggregate's table until ctx is done,
// building a new one after a failure (with backoff).
func (g *Gateway) runTable(ctx context.Context, a *aggregate) error {
	backoff := 500 * time.Millisecond
	for {
		began := time.Now()
		err := g.runView(ctx, a)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > time.Minute {
			backoff = 500 * time.Millisecond
		}
		g.cfg.Logger.Error("gateway: table view failed, restarting it", "table", a.topics.Table, "error", err, "restart_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// runView builds and runs one View of the table. Its stores live in
// Config.StoreDir with the clean-close checkpoint: a View that failed
// leaves them dirty, and the next one restores them from the table.
func (g *Gateway) runView(ctx context.Context, a *aggregate) error {
	sb := storage.MemoryBuilder()
	var builder *state.Builder
	if g.cfg.StoreDir != "" {
		var err error
		builder, err = state.NewBuilder(state.Config{Dir: g.cfg.StoreDir, Changelog: g.cfg.Changelog, Logger: g.cfg.Logger,
			BlockCache: g.cfg.StoreBlockCache, WriteBuffer: g.cfg.StoreWriteBuffer})
		if err != nil {
			return fmt.Errorf("store of %s: %w", a.topics.Table, err)
		}
		sb = builder.Build
		// A view has no group: its stores close when it stops.
		builder.StopsWith(ctx)
	}
	fenced := processors.NewFencedTable(sb, g.cfg.Logger, nil)
	v, err := goka.NewView(g.cfg.Kafka.Brokers, goka.Table(a.topics.Table), codecs.Bytes{},
		goka.WithViewStorageBuilder(fenced.Build),
		goka.WithViewCallback(fenced.Update),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(g.cfg.Sarama)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(g.cfg.Sarama, goka.NewTopicManagerConfig())),
		goka.WithViewAutoReconnect(),
		goka.WithViewLogger(kafka.GokaLogger(g.cfg.Logger)),
	)
	if err != nil {
		return fmt.Errorf("view of %s: %w", a.topics.Table, err)
	}
	a.view.Store(v)
	err = v.Run(ctx)
	a.view.CompareAndSwap(v, nil)
	if err != nil && builder != nil {
		_ = builder.MarkDirty()
	}
	return err
}

// aggregateBody is the answer to GET /v1/{aggregate}/{id}.
type aggregateBody struct {
	Aggregate   string          `json:"aggregate"`
	AggregateID string          `json:"aggregate_id"`
	Version     uint64          `json:"version"`
	Schema      int             `json:"schema"`
	State       json.RawMessage `json:"state"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// aggregateOf returns the aggregate of the route and checks the id.
func (g *Gateway) aggregateOf(r *http.Request) (*aggregate, *apiError) {
	a, ok := g.aggs[r.PathValue("aggregate")]
	if !ok {
		return nil, errorf(http.StatusNotFound, "unknown_aggregate", "no aggregate %q", r.PathValue("aggregate"))
	}
	if err := codecs.ValidateID(r.PathValue("id")); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid_id", "aggregate id %q: %v", r.PathValue("id"), err)
	}
	return a, nil
}

// readSnapshot reads one snapshot from the View: 404 not_found when the
// aggregate does not exist, 503 not_ready while the View recovers.
func (g *Gateway) readSnapshot(a *aggregate, id string) (*codecs.Snapshot, *apiError) {
	v := a.view.Load()
	if v == nil || !v.Recovered() {
		return nil, errorf(http.StatusServiceUnavailable, "not_ready", "table %s is being read", a.topics.Table)
	}
	val, err := v.Get(id)
	if err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "not_ready", "read table %s: %v", a.topics.Table, err)
	}
	b, _ := val.([]byte)
	if len(b) == 0 {
		return nil, errorf(http.StatusNotFound, "not_found", "%s %q does not exist", a.def.Name(), id)
	}
	s, err := codecs.DecodeSnapshotSansStep(b)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "internal", "decode the snapshot of %s %q: %v", a.def.Name(), id, err)
	}
	return s, nil
}

// minVersion parses ?min_version=N (0 when absent).
func minVersion(r *http.Request) (uint64, *apiError) {
	s := r.URL.Query().Get("min_version")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "invalid_parameter", "min_version %q: want a version (0, 1, 2, ...)", s)
	}
	return v, nil
}

// poll calls try until it reports done, the deadline passes or ctx is
// done; it returns whether try succeeded. It polls every few
// milliseconds, backing off to 50 ms, and at once when the channel written
// returns (taken before each try) is closed: the embedded view store
// signals its writes, so a reader in its process wakes when the document
// may have changed instead of up to 50 ms later. written may be nil.
func poll(ctx context.Context, deadline time.Time, written func() <-chan struct{}, try func() bool) bool {
	pause := 2 * time.Millisecond
	for {
		var wake <-chan struct{} // nil: never
		if written != nil {
			wake = written()
		}
		if try() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-wake:
			t.Stop()
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// getAggregate handles GET /v1/{aggregate}/{id}[?min_version=N]: the
// snapshot from the View of the table. With min_version it waits (at most
// Config.ReadWait, or less with "Prefer: wait=N") until the View shows
// that version, and answers 504 not_caught_up rather than older state.
func (g *Gateway) getAggregate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a, e := g.aggregateOf(r)
	if e != nil {
		writeError(w, e)
		return
	}
	minV, e := minVersion(r)
	if e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("id")
	deadline := start.Add(g.preferredWait(w, r, g.cfg.ReadWait))
	var snap *codecs.Snapshot
	var last *apiError
	ok := poll(r.Context(), deadline, nil, func() bool {
		snap, last = g.readSnapshot(a, id)
		switch {
		case last == nil:
			return snap.Version >= minV
		case last.Code == "not_found":
			return minV == 0
		default:
			return true // not ready: answer at once
		}
	})
	if last != nil && (ok || last.Code != "not_found") {
		writeError(w, last)
		return
	}
	if !ok {
		have := uint64(0)
		if snap != nil {
			have = snap.Version
		}
		writeError(w, errorf(http.StatusGatewayTimeout, "not_caught_up", "table %s shows %s %q at version %d, not yet %d", a.topics.Table, a.def.Name(), id, have, minV))
		return
	}
	tag := versionTag(snap.Version)
	w.Header().Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, aggregateBody{
		Aggregate: a.def.Name(), AggregateID: id, Version: snap.Version, Schema: snap.Schema,
		State: snap.State, UpdatedAt: snap.UpdatedAt,
	})
}
