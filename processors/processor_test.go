package processors_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type harness struct {
	t       *testing.T
	tt      *tester.Tester
	topics  codecs.Topics
	results *tester.QueueTracker
	dlq     *tester.QueueTracker
	table   *tester.QueueTracker
}

func startProcessor(t *testing.T, cfg processors.Config) *harness {
	t.Helper()
	tt := tester.New(t)
	cfg.Kafka.Brokers = []string{"tester"}
	cfg.Store.Dir = t.TempDir()
	processors.Unfenced(&cfg)
	processors.CheckSnapshotCache(&cfg)
	p, err := processors.NewProcessor(newCounter(), cfg, goka.WithTester(tt))
	if err != nil {
		t.Fatalf("new processor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("processor run: %v", err)
		}
	})
	h := &harness{t: t, tt: tt, topics: p.Topics()}
	h.results = tt.NewQueueTracker(h.topics.Results)
	h.dlq = tt.NewQueueTracker(h.topics.DLQ)
	h.table = tt.NewQueueTracker(h.topics.Table)
	return h
}

func cmd(id, aggID, typ string, data string) *codecs.Command {
	c := &codecs.Command{ID: id, Aggregate: "counter", AggregateID: aggID, Type: typ, IssuedAt: t0}
	if data != "" {
		c.Data = json.RawMessage(data)
	}
	return c
}

func (h *harness) send(c *codecs.Command) { h.tt.Consume(h.topics.Commands, c.AggregateID, c) }

func (h *harness) sendRaw(key string, b []byte) { h.tt.Consume(h.topics.Commands, key, b) }

func (h *harness) nextResult() codecs.Result {
	h.t.Helper()
	_, v, ok := h.results.Next()
	if !ok {
		h.t.Fatal("no result emitted")
	}
	return *v.(*codecs.Result)
}

func (h *harness) noResult() {
	h.t.Helper()
	if _, v, ok := h.results.Next(); ok {
		h.t.Fatalf("unexpected result %+v", v)
	}
}

func (h *harness) snapshot(id string) *codecs.Snapshot {
	h.t.Helper()
	v := h.tt.TableValue(goka.GroupTable(goka.Group(h.topics.Group)), id)
	if v == nil {
		return nil
	}
	return v.(*codecs.Snapshot)
}

// lastWritten returns the newest snapshot the processor wrote to its table
// topic, decoded in full (the processor's own codec skips the step).
func (h *harness) lastWritten() *codecs.Snapshot {
	h.t.Helper()
	var last []byte
	for {
		_, b, ok := h.table.NextRaw()
		if !ok {
			break
		}
		last = b
	}
	if last == nil {
		h.t.Fatal("no snapshot written")
	}
	v, err := codecs.JSON[codecs.Snapshot]{}.Decode(last)
	if err != nil {
		h.t.Fatal(err)
	}
	return v.(*codecs.Snapshot)
}

type deadLetter struct {
	headers goka.Headers
	key     string
	value   []byte
}

func (h *harness) nextDeadLetter() deadLetter {
	h.t.Helper()
	hd, k, v, ok := h.dlq.NextWithHeaders()
	if !ok {
		h.t.Fatal("nothing dead-lettered")
	}
	return deadLetter{hd, k, v.([]byte)}
}

func (h *harness) noDeadLetter() {
	h.t.Helper()
	if _, _, v, ok := h.dlq.NextWithHeaders(); ok {
		h.t.Fatalf("unexpected dead letter %q", v)
	}
}

func TestGroupTableNameMatchesGoka(t *testing.T) {
	topics := codecs.NewTopics("p", "invoice")
	if got, want := topics.Table, string(goka.GroupTable(goka.Group(topics.Group))); got != want {
		t.Fatalf("codecs table %q, goka %q", got, want)
	}
	if got, want := topics.PublisherTable, string(goka.GroupTable(goka.Group(topics.PublisherGroup))); got != want {
		t.Fatalf("codecs publisher table %q, goka %q", got, want)
	}
}

func TestProcessorAcceptsAndRecordsStep(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":2}`))
	r := h.nextResult()
	if r.Status != codecs.StatusAccepted || r.Version != 1 || r.Events != 1 || r.CommandID != "c1" || r.AggregateID != "a" {
		t.Fatalf("result %+v", r)
	}
	h.send(cmd("c2", "a", "AddTwice", `{"by":3}`))
	if r := h.nextResult(); r.Status != codecs.StatusAccepted || r.Version != 3 || r.Events != 2 {
		t.Fatalf("result %+v", r)
	}
	s := h.lastWritten()
	if s.Version != 3 || string(s.State) != `{"total":8}` || s.Step.CommandID != "c2" || len(s.Step.Events) != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	for i, e := range s.Step.Events {
		if e.Version != uint64(i+2) || e.Type != "Added" || e.CommandID != "c2" || !e.OccurredAt.Equal(t0) || e.Schema != 1 || e.AggregateID != "a" || e.Aggregate != "counter" {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if len(s.Recent) != 2 || s.Recent[1] != (codecs.Recent{CommandID: "c2", Version: 3, Events: 2, Fingerprint: cmd("c2", "a", "AddTwice", `{"by":3}`).Fingerprint()}) {
		t.Fatalf("recent %+v", s.Recent)
	}
	h.noDeadLetter()
}

func TestProcessorAnswersRetriesWithTheFirstResult(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":2}`))
	h.nextResult()
	h.send(cmd("c2", "a", "Add", `{"by":5}`))
	h.nextResult()
	h.send(cmd("c1", "a", "Add", `{"by":2}`))
	r := h.nextResult()
	if r.Status != codecs.StatusDuplicate || r.Version != 1 || r.Events != 1 {
		t.Fatalf("retry result %+v", r)
	}
	if s := h.snapshot("a"); s.Version != 2 || string(s.State) != `{"total":7}` {
		t.Fatalf("a retry changed the snapshot: %+v", s)
	}
}

func TestProcessorForgetsCommandsBeyondTheDedupeWindow(t *testing.T) {
	h := startProcessor(t, processors.Config{DedupeWindow: 2})
	for _, id := range []string{"c1", "c2", "c3"} {
		h.send(cmd(id, "a", "Add", `{"by":1}`))
		h.nextResult()
	}
	if s := h.snapshot("a"); len(s.Recent) != 2 || s.Recent[0].CommandID != "c2" {
		t.Fatalf("recent %+v", s.Recent)
	}
	h.send(cmd("c1", "a", "Add", `{"by":1}`))
	if r := h.nextResult(); r.Status != codecs.StatusAccepted || r.Version != 4 {
		t.Fatalf("a forgotten id is decided again: %+v", r)
	}
}

func TestProcessorDoesNotDecideReplaysAgain(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":1}`))
	h.nextResult()
	// Pretend the snapshot was written by a command at a later offset, as
	// after a crash that replays input already reflected in the table.
	s := h.snapshot("a")
	s.Offset = 100
	h.tt.SetTableValue(goka.GroupTable(goka.Group(h.topics.Group)), "a", s)
	h.send(cmd("c9", "a", "Add", `{"by":1}`))
	r := h.nextResult()
	if r.Status != codecs.StatusDuplicate || r.Error == nil || r.Error.Code != processors.RejectReplayed {
		t.Fatalf("replay result %+v", r)
	}
	if s := h.snapshot("a"); s.Version != 1 {
		t.Fatalf("replay was decided again: version %d", s.Version)
	}
}

func TestProcessorChecksExpectedVersion(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	zero, one := uint64(0), uint64(1)
	c := cmd("c1", "a", "Add", `{"by":1}`)
	c.ExpectedVersion = &zero
	h.send(c)
	if r := h.nextResult(); r.Status != codecs.StatusAccepted {
		t.Fatalf("expected version 0 on a new aggregate: %+v", r)
	}
	c = cmd("c2", "a", "Add", `{"by":1}`)
	c.ExpectedVersion = &zero
	h.send(c)
	r := h.nextResult()
	if r.Status != codecs.StatusConflict || r.Version != 1 || r.Error == nil || r.Error.Code != codecs.RejectConflict {
		t.Fatalf("stale expected version: %+v", r)
	}
	c = cmd("c3", "a", "Add", `{"by":1}`)
	c.ExpectedVersion = &one
	h.send(c)
	if r := h.nextResult(); r.Status != codecs.StatusAccepted || r.Version != 2 {
		t.Fatalf("current expected version: %+v", r)
	}
}

func TestProcessorRejectsWithoutWriting(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":0}`))
	r := h.nextResult()
	if r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != codecs.RejectInvalid || r.Version != 0 {
		t.Fatalf("result %+v", r)
	}
	if s := h.snapshot("a"); s != nil {
		t.Fatalf("a rejected command wrote a snapshot: %+v", s)
	}
	h.noDeadLetter()
}

func TestProcessorRemembersAcceptedNoOps(t *testing.T) {
	h := startProcessor(t, processors.Config{})
	h.send(cmd("c1", "a", "Add", `{"by":1}`))
	h.nextResult()
	first := h.lastWritten()
	touch := cmd("c2", "a", "Touch", "")
	touch.IssuedAt = t0.Add(time.Hour)
	h.send(touch)
	if r := h.nextResult(); r.Status != codecs.StatusAccepted || r.Events != 0 || r.Version != 1 {
		t.Fatalf("no-op result %+v", r)
	}
	// A second snapshot of version 1, which views refuse as stale: it
	// keeps what they project of the first (state, schema, update time).
	s := h.lastWritten()
	if s.Version != 1 || len(s.Step.Events) != 0 || s.Step.CommandID != "c2" {
		t.Fatalf("no-op snapshot %+v", s)
	}
	if string(s.State) != string(first.State) || s.Schema != first.Schema || !s.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("no-op snapshot %+v changed what views project of %+v", s, first)
	}
	h.send(touch)
	if r := h.nextResult(); r.Status != codecs.StatusDuplicate {
		t.Fatalf("retried no-op: %+v", r)
	}
}

func TestProcessorDeadLettersPoisonAndGoesOn(t *testing.T) {
	big := `{"id":"c-big","aggregate":"counter","aggregate_id":"a","type":"Add","data":{"by":1,"pad":"` + strings.Repeat("x", 2000) + `"}}`
	cases := []struct {
		name       string
		key        string
		raw        string
		code       string
		resultCode string // "" when no result can be addressed
	}{
		{"bad JSON without a readable id gets no result", "a", `{"id":`, codecs.RejectMalformed, ""},
		{"bad JSON with a readable id is rejected", "a", `{"id":"c-1","aggregate":"counter","aggregate_id":"a","type":"Add","expected_version":"x"}`, codecs.RejectMalformed, codecs.RejectMalformed},
		{"an unknown type is rejected", "a", `{"id":"c-2","aggregate":"counter","aggregate_id":"a","type":"Multiply","data":{}}`, codecs.RejectUnknownCommand, codecs.RejectUnknownCommand},
		{"data of the wrong shape is rejected", "a", `{"id":"c-3","aggregate":"counter","aggregate_id":"a","type":"Add","data":{"by":"two"}}`, codecs.RejectMalformed, codecs.RejectMalformed},
		{"an unknown data field is rejected", "a", `{"id":"c-4","aggregate":"counter","aggregate_id":"a","type":"Add","data":{"by":1,"typo":1}}`, codecs.RejectMalformed, codecs.RejectMalformed},
		{"a missing command id gets no result", "a", `{"aggregate":"counter","aggregate_id":"a","type":"Add","data":{"by":1}}`, codecs.RejectMalformed, ""},
		{"a missing aggregate id is rejected", "a", `{"id":"c-5","aggregate":"counter","type":"Add","data":{"by":1}}`, codecs.RejectMalformed, codecs.RejectMalformed},
		{"an aggregate id other than the key is rejected", "a", `{"id":"c-6","aggregate":"counter","aggregate_id":"b","type":"Add","data":{"by":1}}`, codecs.RejectMalformed, codecs.RejectMalformed},
		{"another aggregate's command is rejected", "a", `{"id":"c-7","aggregate":"invoice","aggregate_id":"a","type":"Add","data":{"by":1}}`, codecs.RejectMalformed, codecs.RejectMalformed},
		{"an oversized command is rejected", "a", big, codecs.RejectMalformed, codecs.RejectMalformed},
		{"a handler panic is rejected as internal", "a", `{"id":"c-8","aggregate":"counter","aggregate_id":"a","type":"Explode"}`, codecs.RejectInternal, codecs.RejectInternal},
		{"an empty message gets no result", "a", ``, codecs.RejectMalformed, ""},
	}
	h := startProcessor(t, processors.Config{MaxCommandBytes: 1024})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.sendRaw(tc.key, []byte(tc.raw))
			dl := h.nextDeadLetter()
			if dl.key != tc.key || string(dl.value) != tc.raw {
				t.Errorf("dead letter %q=%q, want the input unchanged", dl.key, dl.value)
			}
			if got := string(dl.headers[processors.HeaderErrorCode]); got != tc.code {
				t.Errorf("error code header %q, want %q", got, tc.code)
			}
			if len(dl.headers[processors.HeaderError]) == 0 {
				t.Error("no error header")
			}
			if got := string(dl.headers[processors.HeaderSourceTopic]); got != h.topics.Commands {
				t.Errorf("source topic header %q", got)
			}
			if string(dl.headers[processors.HeaderSourcePartition]) == "" || string(dl.headers[processors.HeaderSourceOffset]) == "" {
				t.Errorf("source position headers missing: %v", dl.headers)
			}
			if tc.resultCode == "" {
				h.noResult()
			} else {
				r := h.nextResult()
				if r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != tc.resultCode {
					t.Errorf("result %+v, want rejected %q", r, tc.resultCode)
				}
			}
			// The partition goes on.
			id := "ok-" + strings.ReplaceAll(tc.name, " ", "-")
			id = id[:min(len(id), 100)]
			id = strings.Map(func(r rune) rune {
				if r == '\'' {
					return '-'
				}
				return r
			}, id)
			h.send(cmd(id, "a", "Add", `{"by":1}`))
			if r := h.nextResult(); r.Status != codecs.StatusAccepted || r.CommandID != id {
				t.Fatalf("after poison: %+v", r)
			}
		})
	}
}

func TestProcessorConfigIsValidated(t *testing.T) {
	_, err := processors.NewProcessor(newCounter(), processors.Config{DedupeWindow: -1})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"brokers", "store dir", "dedupe window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if errors.Unwrap(err) == nil && !strings.Contains(err.Error(), "\n") {
		t.Errorf("want every problem joined, got %q", err)
	}
}
