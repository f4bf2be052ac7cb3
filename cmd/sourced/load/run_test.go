package load

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/profile"
)

// delayedViewer makes every change visible after a fixed delay.
type delayedViewer struct {
	delay time.Duration
	calls atomic.Int64
}

func (v *delayedViewer) WaitVisible(ctx context.Context, view, id string, version uint64) error {
	v.calls.Add(1)
	select {
	case <-time.After(v.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func scenario(t *testing.T, agg string, n int, invalid float64) *Scenario {
	t.Helper()
	sc, err := NewScenario(agg, ScenarioConfig{Prefix: "r", Aggregates: n, Invalid: invalid, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func accounted(s *Summary) bool {
	return s.Accepted+s.Rejected+s.Conflict+s.Duplicate+s.Other+s.NoResult == s.Sent
}

func TestRunPacesAndAccountsForEveryCommand(t *testing.T) {
	store := newStore(invoice.New())
	store.delay = 2 * time.Millisecond
	viewer := &delayedViewer{delay: 5 * time.Millisecond}
	var progress bytes.Buffer
	s, err := Run(context.Background(), Config{
		Scenario: scenario(t, "invoice", 100, 0.05), Sender: store, Via: "test", Viewer: viewer,
		Rate: 400, Duration: 1500 * time.Millisecond, Progress: &progress, ProgressEvery: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Sent < 500 || s.Sent > 650 || s.AchievedRate < 350 || s.Limit != "" {
		t.Errorf("sent %d (achieved %.0f/s, limit %q) in 1.5 s at 400/s", s.Sent, s.AchievedRate, s.Limit)
	}
	if !accounted(s) || s.NoResult != 0 {
		t.Errorf("not every command accounted for: %+v", s)
	}
	// Out-of-order commands of one invoice would be rejected (e.g.
	// AddLineItem before CreateInvoice): none is.
	if s.UnexpectedTotal != 0 || s.Rejected == 0 || s.Rejected != s.RejectedExpected {
		t.Errorf("rejected %d (%d deliberate), unexpected %d: %v", s.Rejected, s.RejectedExpected, s.UnexpectedTotal, s.Unexpected)
	}
	if s.Latency.Count != uint64(s.Sent) || s.Latency.P50 < 2 || s.Latency.P99 > 500 {
		t.Errorf("latency %+v, want %d samples of about 2 ms", s.Latency, s.Sent)
	}
	if !s.View.Enabled || s.View.Sampled == 0 || s.View.Visible != s.View.Sampled || s.View.Latency.P50 < 5 {
		t.Errorf("view %+v, want every sample visible after about 5 ms", s.View)
	}
	if lo, hi := s.Accepted/10/2, s.Accepted/10+1; s.View.Sampled < lo || s.View.Sampled > hi {
		t.Errorf("sampled %d views of %d accepted commands, want about 1 in 10", s.View.Sampled, s.Accepted)
	}
	if n := strings.Count(progress.String(), "load: ["); n < 2 {
		t.Errorf("progress printed %d lines, want one per 0.5 s:\n%s", n, progress.String())
	}
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sent", "accepted", "rejected", "deliberate", "command->result", "result->view", "p99"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	b, err := json.Marshal(s)
	if err != nil || !bytes.Contains(b, []byte(`"latency_ms":{"count"`)) {
		t.Errorf("json summary: %s %v", b, err)
	}
}

func TestRunSkewsProfilesTowardsHotKeys(t *testing.T) {
	store := newStore(profile.New())
	s, err := Run(context.Background(), Config{
		Scenario: scenario(t, "profile", 200, 0), Sender: store, Via: "test", Rate: 2000, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !accounted(s) || s.UnexpectedTotal != 0 || s.Sent < 1000 {
		t.Fatalf("%+v", s)
	}
	if s.ViewNote == "" || s.View.Enabled {
		t.Errorf("no viewer: want a note, got %+v %q", s.View, s.ViewNote)
	}
	hot, mid := store.snaps[profileID("r", 0)], store.snaps[profileID("r", 100)]
	if hot == nil || (mid != nil && hot.Version < 5*mid.Version) {
		t.Errorf("hot profile at %v, median one at %v: want many more updates on the hot key", hot, mid)
	}
}

func TestRunReportsWhenAggregatesLimitTheRate(t *testing.T) {
	store := newStore(invoice.New())
	store.delay = 50 * time.Millisecond
	s, err := Run(context.Background(), Config{
		Scenario: scenario(t, "invoice", 2, 0), Sender: store, Via: "test", Rate: 200, Duration: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two aggregates, one command each in flight, 50 ms each: 40/s at most.
	if s.Sent > 50 || s.AchievedRate > 50 || !strings.Contains(s.Limit, "aggregates") {
		t.Errorf("sent %d, achieved %.0f/s, limit %q: want about 40/s, limited by the aggregates", s.Sent, s.AchievedRate, s.Limit)
	}
	if s.UnexpectedTotal != 0 || !accounted(s) {
		t.Errorf("%+v", s)
	}
}

// stuckSender never answers commands of the first aggregate.
type stuckSender struct{ *aggregateStore }

func (s stuckSender) Send(ctx context.Context, cmd *codecs.Command) (codecs.Result, error) {
	if strings.HasSuffix(cmd.AggregateID, "-inv-0-1") {
		<-ctx.Done()
		return codecs.Result{}, &NoResultError{Reason: ctxReason(ctx), Err: ctx.Err()}
	}
	return s.aggregateStore.Send(ctx, cmd)
}

func TestRunDrainsAtMostDrainAndCountsTheRest(t *testing.T) {
	begin := time.Now()
	s, err := Run(context.Background(), Config{
		Scenario: scenario(t, "invoice", 5, 0), Sender: stuckSender{newStore(invoice.New())}, Via: "test",
		Rate: 100, Duration: 500 * time.Millisecond, Drain: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Run took %v with a 0.5 s duration and 0.3 s drain", took)
	}
	if s.NoResult != 1 || s.NoResultReasons["cancelled"] != 1 || !accounted(s) {
		t.Errorf("no result %d %v, want the stuck command counted once as cancelled: %+v", s.NoResult, s.NoResultReasons, s)
	}
}

func TestRunStopsEarlyOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	s, err := Run(ctx, Config{Scenario: scenario(t, "profile", 10, 0), Sender: newStore(profile.New()), Rate: 100, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(begin) > 2*time.Second || !s.Interrupted || s.Sent == 0 || !accounted(s) || s.Limit != "" {
		t.Errorf("after cancel at 0.3 s: took %v, %+v", time.Since(begin), s)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := Run(context.Background(), Config{Rate: -1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no scenario", "no sender", "rate -1", "duration 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
