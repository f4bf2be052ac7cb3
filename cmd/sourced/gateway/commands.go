package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
)

// StatusPending is the status of a command whose result did not arrive in
// time (answered 202).
const StatusPending codecs.Status = "pending"

// resultBody is the answer to a command: codecs.Result's fields, plus a
// top-level code and message copied from its error when the command was
// rejected or conflicted, so every 4xx body has {code, message}.
type resultBody struct {
	codecs.Result
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// postCommand handles POST /v1/{aggregate}/{id}/{command}.
func (g *Gateway) postCommand(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.ContentLength > g.cfg.MaxBody {
		writeError(w, tooLarge(g.cfg.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, tooLarge(g.cfg.MaxBody))
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The server's read timeout: a client trickling its body
			// does not keep its slot.
			writeError(w, errorf(http.StatusRequestTimeout, "request_timeout", "the body did not arrive in time"))
			return
		}
		writeError(w, errorf(http.StatusBadRequest, "unreadable_body", "read the body: %v", err))
		return
	}
	// Admitted once the body is read: a client trickling its body holds
	// a connection (bounded by the server's read timeout), not a slot.
	admitted, e := g.admit(r.PathValue("aggregate"), time.Now())
	if e != nil {
		writeError(w, e)
		return
	}
	answered := false // produced, and answered with its result or 202
	defer func() { g.release(admitted, time.Now(), answered) }()
	cmd, e := g.catalog.decodeCommand(commandRequest{
		Aggregate: r.PathValue("aggregate"), ID: r.PathValue("id"), Command: r.PathValue("command"),
		IdempotencyKey: r.Header.Get("Idempotency-Key"), IfMatch: r.Header.Get("If-Match"),
		ContentType: r.Header.Get("Content-Type"), Body: body,
	}, start)
	if e != nil {
		writeError(w, e)
		return
	}
	if !g.results.positioned.Load() {
		// The result could be missed: refuse rather than answer 202 for
		// every command while the gateway starts.
		writeError(w, errorf(http.StatusServiceUnavailable, "not_ready", "the gateway is not reading results yet"))
		return
	}
	value, err := codecs.CommandCodec{}.Encode(cmd)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "malformed_json", "%v", err))
		return
	}
	if len(value) > codecs.DefaultMaxCommandBytes {
		// The processor would reject it, and Kafka may refuse it first.
		writeError(w, errorf(http.StatusRequestEntityTooLarge, "too_large", "the command is %d bytes with its envelope; the limit is %d", len(value), codecs.DefaultMaxCommandBytes))
		return
	}
	a := g.aggs[cmd.Aggregate]
	wait := g.preferredWait(w, r, g.cfg.ResultWait)
	key := resultKey{cmd.Aggregate, cmd.AggregateID, cmd.ID}
	var ch <-chan codecs.Result
	if wait > 0 {
		var cancel func()
		ch, cancel = g.results.register(key) // before producing: the result cannot be missed
		defer cancel()
	}
	pctx, cancel := context.WithTimeout(r.Context(), max(g.cfg.ResultWait, 10*time.Second))
	defer cancel()
	rec := &kgo.Record{Topic: a.topics.Commands, Key: []byte(cmd.AggregateID), Value: value}
	if err := g.producer.ProduceSync(pctx, rec).FirstErr(); err != nil {
		g.cfg.Logger.Warn("gateway: produce command", "aggregate", cmd.Aggregate, "aggregate_id", cmd.AggregateID, "command_id", cmd.ID, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{
			"code": "unavailable", "message": "the command could not be written to Kafka; retry with the same Idempotency-Key",
			"command_id": cmd.ID,
		})
		return
	}
	if wait <= 0 {
		g.accepted(w, key)
		answered = true
		return
	}
	timer := time.NewTimer(time.Until(start.Add(wait)))
	defer timer.Stop()
	select {
	case res := <-ch:
		writeResult(w, res)
		answered = true
	case <-timer.C:
		g.accepted(w, key)
		answered = true
	case <-r.Context().Done():
		g.results.markPending(key)
	}
}

// accepted answers 202: the command is on Kafka, its result is not known
// yet; the Location is where to poll for it.
func (g *Gateway) accepted(w http.ResponseWriter, key resultKey) {
	g.results.markPending(key)
	w.Header().Set("Location", commandLocation(key))
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusAccepted, resultBody{Result: codecs.Result{
		CommandID: key.commandID, AggregateID: key.aggregateID, Status: StatusPending,
	}})
}

func commandLocation(key resultKey) string {
	return "/v1/" + key.aggregate + "/" + key.aggregateID + "/commands/" + key.commandID
}

// writeResult answers with a command's result: 200 accepted, 409 conflict,
// 422 rejected. A duplicate (marked Idempotent-Replayed) answers with the
// status of the first handling; one whose first outcome is no longer known
// (replayed) is 422, never a 2xx, and one from a processor that did not
// report the first outcome (it remembered acceptances only) 200. The ETag
// is the aggregate version the result reports.
func writeResult(w http.ResponseWriter, res codecs.Result) {
	status := http.StatusOK
	body := resultBody{Result: res}
	outcome := res.Status
	if res.Status == codecs.StatusDuplicate {
		w.Header().Set("Idempotent-Replayed", "true")
		outcome = res.FirstStatus
		if outcome == "" && res.Error != nil {
			outcome = codecs.StatusRejected
		}
	}
	switch outcome {
	case codecs.StatusConflict:
		status = http.StatusConflict
	case codecs.StatusRejected:
		status = http.StatusUnprocessableEntity
	}
	if status != http.StatusOK && res.Error != nil {
		body.Code, body.Message = res.Error.Code, res.Error.Message
	}
	w.Header().Set("ETag", versionTag(res.Version))
	writeJSON(w, status, body)
}

func tooLarge(limit int64) *apiError {
	return errorf(http.StatusRequestEntityTooLarge, "too_large", "the body exceeds %d bytes", limit)
}

// preferredWait is how long to wait: the client's "Prefer: wait=N"
// (seconds, RFC 7240) or "respond-async" (no wait), capped by limit;
// limit without a preference. It sets Preference-Applied when it honours
// one.
func (g *Gateway) preferredWait(w http.ResponseWriter, r *http.Request, limit time.Duration) time.Duration {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, value, _ := strings.Cut(strings.TrimSpace(pref), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "respond-async":
				w.Header().Set("Preference-Applied", "respond-async")
				return 0
			case "wait":
				secs, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(value), `"`), 64)
				if err != nil || secs < 0 {
					continue
				}
				d := time.Duration(secs * float64(time.Second))
				if d >= limit {
					return limit
				}
				w.Header().Set("Preference-Applied", "wait="+strings.TrimSpace(value))
				return d
			}
		}
	}
	return limit
}

// getCommand handles GET /v1/{aggregate}/{id}/commands/{command_id}: the
// result of a command, from the results this gateway read (a 202's
// Location), else from the snapshot's recent commands. A command this
// gateway sent whose result has not arrived answers 202 again; an unknown
// one (never sent, still in flight through another replica, or
// forgotten) 404 command_not_found.
func (g *Gateway) getCommand(w http.ResponseWriter, r *http.Request) {
	a, e := g.aggregateOf(r)
	if e != nil {
		writeError(w, e)
		return
	}
	id, commandID := r.PathValue("id"), r.PathValue("command_id")
	if err := codecs.ValidateID(commandID); err != nil {
		writeError(w, errorf(http.StatusBadRequest, "invalid_id", "command id %q: %v", commandID, err))
		return
	}
	key := resultKey{a.def.Name(), id, commandID}
	res, found, pending := g.results.lookup(key)
	if found {
		writeResult(w, res)
		return
	}
	snap, e := g.readSnapshot(a, id)
	if e != nil && e.Code != "not_found" {
		writeError(w, e)
		return
	}
	if snap != nil {
		if rec, ok := snap.Find(commandID); ok {
			writeResult(w, codecs.Result{CommandID: commandID, AggregateID: id, Status: rec.Outcome(), Version: rec.Version, Events: rec.Events, Error: rec.Error})
			return
		}
	}
	if pending {
		g.accepted(w, key)
		return
	}
	writeError(w, errorf(http.StatusNotFound, "command_not_found", "no result known for command %q of %s %q", commandID, a.def.Name(), id))
}
