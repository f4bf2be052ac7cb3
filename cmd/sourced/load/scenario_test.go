package load

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/profile"
)

// aggregateStore decides commands with a real aggregate definition and
// keeps the snapshots in memory, as the processor would: it is the
// reference the generated sequences are checked against, and (as a Sender)
// the far end of Run in the unit tests.
type aggregateStore struct {
	def   processors.Definition
	mu    sync.Mutex
	snaps map[string]*codecs.Snapshot
	seen  map[string]bool // command ids
	delay time.Duration
}

func newStore(def processors.Definition) *aggregateStore {
	return &aggregateStore{def: def, snaps: map[string]*codecs.Snapshot{}, seen: map[string]bool{}}
}

func (s *aggregateStore) decide(cmd *codecs.Command) codecs.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := codecs.Result{CommandID: cmd.ID, AggregateID: cmd.AggregateID}
	if s.seen[cmd.ID] {
		res.Status = codecs.StatusDuplicate
		return res
	}
	s.seen[cmd.ID] = true
	snap := s.snaps[cmd.AggregateID]
	d := s.def.Decide(snap, cmd, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	if snap != nil {
		res.Version = snap.Version
	}
	if d.Rejection != nil {
		res.Status, res.Error = codecs.StatusRejected, d.Rejection
		return res
	}
	res.Status, res.Events = codecs.StatusAccepted, len(d.Events)
	if len(d.Events) > 0 {
		res.Version += uint64(len(d.Events))
		s.snaps[cmd.AggregateID] = &codecs.Snapshot{AggregateID: cmd.AggregateID, Version: res.Version, Schema: d.StateSchema, State: d.State}
	}
	return res
}

// Send implements Sender.
func (s *aggregateStore) Send(ctx context.Context, cmd *codecs.Command) (codecs.Result, error) {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return codecs.Result{}, &NoResultError{Reason: ctxReason(ctx), Err: ctx.Err()}
		}
	}
	return s.decide(cmd), nil
}

func (s *aggregateStore) state(t *testing.T, id string, into any) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.snaps[id]
	if snap == nil {
		t.Fatalf("no snapshot of %s", id)
	}
	if err := json.Unmarshal(snap.State, into); err != nil {
		t.Fatal(err)
	}
}

// play runs every actor of sc for steps commands each against the real
// aggregate, failing on any outcome other than the expected one, and
// returns the count of commands by "type" and by "type/expected code".
func play(t *testing.T, sc *Scenario, store *aggregateStore, steps int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for slot := range sc.Size() {
		a := sc.Actor(slot)
		for i := range steps {
			c := a.Next()
			cmd := &codecs.Command{ID: fmt.Sprintf("s%d-%d", slot, i), Aggregate: sc.Aggregate(), AggregateID: c.AggregateID, Type: c.Type, Data: c.Data}
			res := store.decide(cmd)
			got := ""
			if res.Error != nil {
				got = res.Error.Code
			}
			if got != c.Expect || (c.Expect == "") != (res.Status == codecs.StatusAccepted) {
				t.Fatalf("slot %d step %d: %s %s %s: got %s %q, want %q", slot, i, c.Type, c.AggregateID, c.Data, res.Status, got, c.Expect)
			}
			a.Outcome(true)
			seen[c.Type]++
			if c.Expect != "" {
				seen[c.Type+"/"+c.Expect]++
			}
		}
	}
	return seen
}

func TestInvoiceScenarioIsAcceptedByTheAggregate(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			sc, err := NewScenario("invoice", ScenarioConfig{Prefix: "t", Aggregates: 50, Invalid: 0.05, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			store := newStore(invoice.New())
			seen := play(t, sc, store, 200)
			for _, typ := range []string{"CreateInvoice", "AddLineItem", "RemoveLineItem", "ChangeDueDate", "IssueInvoice", "RecordPayment", "CancelInvoice",
				"IssueInvoice/empty_invoice", "AddLineItem/not_draft", "RecordPayment/overpayment", "RecordPayment/currency_mismatch", "RecordPayment/already_paid"} {
				if seen[typ] == 0 {
					t.Errorf("no %s in 10,000 commands: %v", typ, seen)
				}
			}
			invalid := 0
			for k, n := range seen {
				if strings.Contains(k, "/") {
					invalid += n
				}
			}
			if share := float64(invalid) / 10_000; share < 0.005 || share > 0.05 {
				t.Errorf("invalid share %.3f with Invalid 0.05 per phase: want a small share", share)
			}
			// Most invoices end paid in full: status paid, balance 0.
			var paid, cancelled, total int
			for id := range store.snaps {
				var s invoice.State
				store.state(t, id, &s)
				total++
				switch s.Status {
				case invoice.StatusPaid:
					paid++
					if s.Balance != 0 || s.Paid != s.Total || len(s.Payments) == 0 {
						t.Errorf("%s: paid with balance %d, paid %d of %d", id, s.Balance, s.Paid, s.Total)
					}
				case invoice.StatusCancelled:
					cancelled++
				}
			}
			if paid < total/2 || cancelled == 0 {
				t.Errorf("%d invoices: %d paid, %d cancelled; want most paid and a few cancelled", total, paid, cancelled)
			}
		})
	}
}

func TestProfileScenarioIsAcceptedByTheAggregate(t *testing.T) {
	sc, err := NewScenario("profile", ScenarioConfig{Prefix: "t", Aggregates: 100, Invalid: 0.02, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(profile.New())
	seen := play(t, sc, store, 100)
	for _, typ := range []string{"SetUsername", "Follow", "Unfollow", "AddFollower", "RemoveFollower", "Follow/invalid", "SetUsername/invalid"} {
		if seen[typ] == 0 {
			t.Errorf("no %s in 10,000 commands: %v", typ, seen)
		}
	}
	// Follow targets are skewed: many more profiles follow the hottest
	// profile than the median one.
	follows := map[string]int{}
	for id := range store.snaps {
		var s profile.State
		store.state(t, id, &s)
		for _, f := range s.Following {
			follows[f]++
		}
	}
	if hot, mid := follows[profileID("t", 0)], follows[profileID("t", 50)]; hot < 3*mid || hot < 20 {
		t.Errorf("%d profiles follow profile 0, %d profile 50: want a hot key", hot, mid)
	}
}

func TestScenarioIsDeterministic(t *testing.T) {
	for _, agg := range Aggregates() {
		seq := func(seed uint64) []Command {
			sc, err := NewScenario(agg, ScenarioConfig{Prefix: "d", Aggregates: 10, Invalid: 0.1, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			var out []Command
			for slot := range 10 {
				a := sc.Actor(slot)
				for range 30 {
					out = append(out, a.Next())
					a.Outcome(true)
				}
			}
			return out
		}
		if diff := cmp.Diff(seq(42), seq(42)); diff != "" {
			t.Errorf("%s: two runs with seed 42 differ:\n%s", agg, diff)
		}
		if cmp.Equal(seq(42), seq(43)) {
			t.Errorf("%s: seeds 42 and 43 give the same commands", agg)
		}
	}
}

func TestInvoiceActorStartsOverAfterAnUnexpectedOutcome(t *testing.T) {
	sc, err := NewScenario("invoice", ScenarioConfig{Prefix: "u", Aggregates: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := sc.Actor(0)
	first := a.Next()
	a.Outcome(true)
	second := a.Next()
	if first.Type != "CreateInvoice" || second.Type != "AddLineItem" || second.AggregateID != first.AggregateID {
		t.Fatalf("first commands: %s %s, %s %s", first.Type, first.AggregateID, second.Type, second.AggregateID)
	}
	a.Outcome(false) // e.g. no result: the invoice's state is unknown
	third := a.Next()
	if third.Type != "CreateInvoice" || third.AggregateID == first.AggregateID {
		t.Fatalf("after an unexpected outcome: %s %s, want CreateInvoice of a new invoice", third.Type, third.AggregateID)
	}
}

func TestNewScenarioRejectsBadConfig(t *testing.T) {
	_, err := NewScenario("order", ScenarioConfig{Prefix: "bad prefix", Aggregates: 0, Invalid: 0.9})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`aggregate "order"`, `prefix "bad prefix"`, "aggregates 0", "invalid share 0.9"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
