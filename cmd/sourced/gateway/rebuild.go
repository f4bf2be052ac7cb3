package gateway

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/views"
)

// RebuildLine is one line of the NDJSON stream of
// POST /v1/admin/views/{view}/rebuild: a progress report (Phase "replay",
// "swap", "catch-up", "cleanup"), then one line with Phase "done" and the
// result, or Phase "error" and the error.
type RebuildLine struct {
	Phase      string             `json:"phase"`
	Generation int                `json:"generation,omitempty"`
	Records    int64              `json:"records"`
	Rate       float64            `json:"rate,omitempty"`
	ETASeconds float64            `json:"eta_seconds,omitempty"`
	Partitions []RebuildPartition `json:"partitions,omitempty"`
	Indices    []string           `json:"indices,omitempty"`
	Removed    []string           `json:"removed,omitempty"`
	Writes     int64              `json:"writes,omitempty"`
	DeadLetter int64              `json:"dead_letters,omitempty"`
	Error      *RebuildLineError  `json:"error,omitempty"`
}

// RebuildPartition is one source partition's replay position.
type RebuildPartition struct {
	Partition int32 `json:"partition"`
	Next      int64 `json:"next"`
	End       int64 `json:"end"`
}

// RebuildLineError is the error that ended a rebuild.
type RebuildLineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// rebuildView handles POST /v1/admin/views/{view}/rebuild[?keep_old=true]:
// views.Rebuild in this process, which owns the view store (the embedded
// bleve store cannot be opened twice), streaming progress as NDJSON
// (replay and catch-up at most once a second). The rebuild runs as long as
// the request: a client that disconnects cancels it. A second rebuild of
// the same view meanwhile gets 409 rebuild_running.
func (g *Gateway) rebuildView(w http.ResponseWriter, r *http.Request) {
	v, e := g.viewOf(r)
	if e != nil {
		writeError(w, e)
		return
	}
	g.rebuildMu.Lock()
	if g.rebuildRunning[v.view.Name] {
		g.rebuildMu.Unlock()
		writeError(w, errorf(http.StatusConflict, "rebuild_running", "view %s is being rebuilt already", v.view.Name))
		return
	}
	g.rebuildRunning[v.view.Name] = true
	g.rebuildMu.Unlock()
	defer func() {
		g.rebuildMu.Lock()
		delete(g.rebuildRunning, v.view.Name)
		g.rebuildMu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(l RebuildLine) {
		_ = enc.Encode(l)
		_ = rc.Flush()
	}
	last := time.Time{}
	report := func(views.RebuildProgress) {}
	if g.cfg.RebuildProgress != nil {
		report = g.cfg.RebuildProgress(v.view.Name)
	}
	res, err := views.Rebuild(r.Context(), v.view, views.RebuildConfig{
		Kafka:       g.cfg.Kafka,
		Prefix:      g.cfg.Prefix,
		Store:       g.cfg.Store,
		DeadLetters: views.KafkaDeadLetters(g.producer, codecs.NewTopics(g.cfg.Prefix, v.view.Aggregate).DLQ),
		KeepOld:     r.URL.Query().Get("keep_old") == "true",
		Logger:      g.cfg.Logger,
		Progress: func(p views.RebuildProgress) {
			report(p)
			if p.Phase == "done" {
				return // the result line follows
			}
			if (p.Phase == "replay" || p.Phase == "catch-up") && time.Since(last) < time.Second {
				return
			}
			last = time.Now()
			l := RebuildLine{Phase: p.Phase, Generation: p.Generation, Records: p.Records, Rate: p.Rate, ETASeconds: p.ETA.Seconds()}
			for _, pp := range p.Partitions {
				l.Partitions = append(l.Partitions, RebuildPartition{Partition: pp.Partition, Next: pp.Next, End: pp.End})
			}
			send(l)
		},
	})
	if err != nil {
		g.cfg.Logger.Error("gateway: rebuild", "view", v.view.Name, "error", err)
		send(RebuildLine{Phase: "error", Error: &RebuildLineError{Code: "rebuild_failed", Message: err.Error()}})
		return
	}
	send(RebuildLine{Phase: "done", Generation: res.Generation, Records: res.Records, Indices: res.Indices, Removed: res.Removed,
		Writes: res.Stats.Writes.Load(), DeadLetter: res.Stats.DeadLetters.Load()})
}
