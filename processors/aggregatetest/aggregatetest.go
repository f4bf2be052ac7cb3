// Package aggregatetest runs given/when/then scenarios against an
// aggregate definition: given the events already recorded, when a command
// arrives, then these events are recorded or the command is rejected with
// this code. Scenarios go through the same JSON encoding and Decide path the
// processor uses.
package aggregatetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// DefaultTime is the decision time of a scenario unless At changes it.
var DefaultTime = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Scenario is an aggregate with a history of events.
type Scenario[S any] struct {
	t      testing.TB
	agg    *processors.Aggregate[S]
	events []codecs.Event
	at     time.Time
	id     string
}

// Given starts a scenario whose aggregate "agg-1" has recorded events (event
// payload values registered with processors.On), in order.
func Given[S any](t testing.TB, agg *processors.Aggregate[S], events ...any) *Scenario[S] {
	t.Helper()
	sc := &Scenario[S]{t: t, agg: agg, at: DefaultTime, id: "agg-1"}
	for i, e := range events {
		name, ok := agg.EventName(e)
		if !ok {
			t.Fatalf("given event %d: %T is not a registered event", i, e)
		}
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("given event %d: %v", i, err)
		}
		sc.events = append(sc.events, codecs.Event{
			Aggregate: agg.Name(), AggregateID: sc.id, Version: uint64(i) + 1, Type: name,
			CommandID: fmt.Sprintf("given-%d", i), OccurredAt: sc.at, Schema: 0, Data: data,
		})
	}
	return sc
}

// At sets the decision time of the command.
func (sc *Scenario[S]) At(at time.Time) *Scenario[S] { sc.at = at; return sc }

// When decides command (a payload value registered with processors.Handle).
func (sc *Scenario[S]) When(command any) *Outcome[S] {
	sc.t.Helper()
	name, ok := sc.agg.CommandName(command)
	if !ok {
		sc.t.Fatalf("when: %T is not a registered command", command)
	}
	data, err := json.Marshal(command)
	if err != nil {
		sc.t.Fatalf("when: %v", err)
	}
	return sc.WhenRaw(name, data)
}

// WhenRaw decides a command given by type name and raw JSON data.
func (sc *Scenario[S]) WhenRaw(typ string, data json.RawMessage) *Outcome[S] {
	sc.t.Helper()
	var snap *codecs.Snapshot
	if len(sc.events) > 0 {
		state, err := sc.agg.Fold(sc.events)
		if err != nil {
			sc.t.Fatalf("given: %v", err)
		}
		snap = &codecs.Snapshot{AggregateID: sc.id, Version: uint64(len(sc.events)), Schema: sc.agg.StateSchema(), State: state}
	}
	cmd := &codecs.Command{ID: "cmd-when", Aggregate: sc.agg.Name(), AggregateID: sc.id, Type: typ, Data: data}
	return &Outcome[S]{sc: sc, d: sc.agg.Decide(snap, cmd, sc.at)}
}

// Outcome is the decision on the command of a scenario.
type Outcome[S any] struct {
	sc *Scenario[S]
	d  processors.Decision
}

// Decision returns the raw decision.
func (o *Outcome[S]) Decision() processors.Decision { return o.d }

// Then asserts that the command was accepted and recorded exactly events
// (payload values, in order; none means an accepted no-op).
func (o *Outcome[S]) Then(events ...any) *Outcome[S] {
	t := o.sc.t
	t.Helper()
	if o.d.Rejection != nil {
		t.Fatalf("then: want %d events, got rejection %s", len(events), o.d.Rejection.Error())
	}
	got := make([]any, 0, len(o.d.Events))
	for i, e := range o.d.Events {
		v, err := o.sc.agg.DecodeEvent(e)
		if err != nil {
			t.Fatalf("then: event %d: %v", i, err)
		}
		if want := uint64(len(o.sc.events) + i + 1); e.Version != want {
			t.Errorf("then: event %d has version %d, want %d", i, e.Version, want)
		}
		if !e.OccurredAt.Equal(o.sc.at) {
			t.Errorf("then: event %d occurred at %v, want the decision time %v", i, e.OccurredAt, o.sc.at)
		}
		got = append(got, v)
	}
	if events == nil {
		events = []any{}
	}
	if diff := cmp.Diff(events, got); diff != "" {
		t.Fatalf("then: events differ (-want +got):\n%s", diff)
	}
	return o
}

// ThenRejected asserts that the command was rejected with code.
func (o *Outcome[S]) ThenRejected(code string) *Outcome[S] {
	t := o.sc.t
	t.Helper()
	if o.d.Rejection == nil {
		t.Fatalf("then: want rejection %q, got %d events", code, len(o.d.Events))
	}
	if o.d.Rejection.Code != code {
		t.Fatalf("then: want rejection %q, got %s", code, o.d.Rejection.Error())
	}
	if o.d.Rejection.Message == "" {
		t.Errorf("then: rejection %q has no message", code)
	}
	return o
}

// State returns the state after the given events and the decided ones; it
// fails the test if the command was rejected.
func (o *Outcome[S]) State() S {
	t := o.sc.t
	t.Helper()
	if o.d.Rejection != nil {
		t.Fatalf("state: command rejected: %s", o.d.Rejection.Error())
	}
	all := append(append([]codecs.Event(nil), o.sc.events...), o.d.Events...)
	s, err := o.sc.agg.FoldState(all)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	decided, err := o.sc.agg.DecodeState(o.d.StateSchema, o.d.State)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	if diff := cmp.Diff(s, decided); diff != "" {
		t.Fatalf("state: the decided state differs from the fold of the events (-fold +decided):\n%s", diff)
	}
	return s
}
