package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/b2dc4357/sourced/codecs"
)

// Command is one generated command for one aggregate.
type Command struct {
	// AggregateID is the aggregate the command addresses.
	AggregateID string
	// Type is the command type, e.g. "AddLineItem".
	Type string
	// Data is the JSON payload ({} for commands without fields).
	Data json.RawMessage
	// Expect is the rejection code the aggregate must answer with; empty
	// when the command must be accepted.
	Expect string
}

// Actor generates the command sequence of one aggregate slot. Next is
// called only after the outcome of the previous command was reported, so
// an actor never has two commands in flight. Actors are not safe for
// concurrent use.
type Actor interface {
	// Next returns the next command.
	Next() Command
	// Outcome reports how the last command from Next ended: expected is
	// true when it was accepted and Expect was empty, or rejected with
	// the code Expect. After an unexpected outcome (another status or
	// code, or no result at all) the actor resynchronizes: an invoice
	// actor abandons its invoice and starts a new one.
	Outcome(expected bool)
}

// ScenarioConfig configures a Scenario.
type ScenarioConfig struct {
	// Prefix starts every aggregate id, so runs against the same data do
	// not collide. Required; it must be a valid id (codecs.ValidateID).
	Prefix string
	// Aggregates is the number of aggregate slots (actors). Required, > 0.
	Aggregates int
	// Invalid is the probability, at each point where an invalid command
	// fits, that the actor sends one. Default 0 (none); at most 0.5.
	Invalid float64
	// Seed makes the command sequences reproducible.
	Seed uint64
}

// Scenario is a traffic mix for one aggregate kind. It is immutable after
// NewScenario and safe for concurrent use; its actors are not.
type Scenario struct {
	aggregate string
	view      string
	cfg       ScenarioConfig
	zipf      *zipf // nil: aggregates are picked uniformly
	newActor  func(s *Scenario, slot int, r *rand.Rand) Actor
}

// Aggregates lists the aggregates NewScenario knows.
func Aggregates() []string { return []string{"invoice", "profile"} }

// NewScenario returns the scenario of aggregate "invoice" or "profile".
func NewScenario(aggregate string, cfg ScenarioConfig) (*Scenario, error) {
	var errs []error
	if err := codecs.ValidateID(cfg.Prefix); err != nil {
		errs = append(errs, fmt.Errorf("prefix %q: %w", cfg.Prefix, err))
	}
	if cfg.Aggregates <= 0 {
		errs = append(errs, fmt.Errorf("aggregates %d: want > 0", cfg.Aggregates))
	}
	if cfg.Invalid < 0 || cfg.Invalid > 0.5 {
		errs = append(errs, fmt.Errorf("invalid share %g: want 0 to 0.5", cfg.Invalid))
	}
	s := &Scenario{aggregate: aggregate, cfg: cfg}
	switch aggregate {
	case "invoice":
		s.view, s.newActor = "invoice-search", newInvoiceActor
	case "profile":
		s.view, s.newActor = "profile", newProfileActor
		if cfg.Aggregates > 0 {
			s.zipf = newZipf(cfg.Aggregates, zipfExponent)
		}
	default:
		errs = append(errs, fmt.Errorf("aggregate %q: want one of %v", aggregate, Aggregates()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	return s, nil
}

// Aggregate returns the aggregate name, e.g. "invoice".
func (s *Scenario) Aggregate() string { return s.aggregate }

// View returns the state view of the aggregate, e.g. "invoice-search".
func (s *Scenario) View() string { return s.view }

// Size returns the number of aggregate slots.
func (s *Scenario) Size() int { return s.cfg.Aggregates }

// Actor returns a new actor for slot (0 <= slot < Size()). Its command
// sequence depends only on the seed and slot.
func (s *Scenario) Actor(slot int) Actor {
	return s.newActor(s, slot, rand.New(rand.NewPCG(s.cfg.Seed, uint64(slot))))
}

// pick returns the slot to favour for the next command: uniform for
// invoices, Zipf-skewed (hot keys) for profiles.
func (s *Scenario) pick(r *rand.Rand) int {
	if s.zipf != nil {
		return s.zipf.sample(r)
	}
	return r.IntN(s.cfg.Aggregates)
}

// data encodes a command payload; the payload types are plain structs that
// always encode.
func data(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("load: encode %T: %v", v, err))
	}
	return b
}
