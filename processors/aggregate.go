package processors

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// Meta is what a command handler knows besides the state and the payload.
// It holds no clock: Time comes from the command's issued_at or, when that
// is absent, from the Kafka timestamp of the command message, so deciding
// the same command on the same state always gives the same events.
type Meta struct {
	// AggregateID is the id of the aggregate the command addresses.
	AggregateID string
	// CommandID is the command's idempotency key.
	CommandID string
	// Version is the current aggregate version; 0 when it does not exist.
	Version uint64
	// Time is the decision time.
	Time time.Time
	// Meta is the client metadata of the command (may be nil).
	Meta map[string]string
}

// Exists reports whether the aggregate has at least one event.
func (m Meta) Exists() bool { return m.Version > 0 }

// Aggregate is the definition of an event-sourced aggregate with state S:
// its name, its initial state, a handler per command type and an applier per
// event type. Build it once at start-up with New, Handle and On; after that
// it is read-only and safe for concurrent use. Registration mistakes (a
// duplicate name, an empty name) panic, because they are wiring bugs.
//
// A handler decides: given the state and a command it returns the events to
// record, or a *codecs.Rejection. It must be deterministic and must not
// modify the state it is given. An applier folds one event into the state; it
// must accept every event its aggregate ever recorded.
type Aggregate[S any] struct {
	name     string
	initial  func() S
	commands *codecs.Registry
	events   *codecs.Registry
	handlers map[string]func(S, any, Meta) ([]any, error)
	appliers map[string]func(*S, any)

	stateSchema    int
	stateUpcasters map[int]codecs.Upcaster
	// cacheStates: S survives a JSON round trip (CacheDecodedStates).
	cacheStates bool
}

// New starts the definition of aggregate name. initial returns the state of
// an aggregate that has no events yet; nil means the zero S.
func New[S any](name string, initial func() S) *Aggregate[S] {
	if name == "" {
		panic("processors: aggregate name is empty")
	}
	if initial == nil {
		initial = func() S { var zero S; return zero }
	}
	return &Aggregate[S]{
		name:           name,
		initial:        initial,
		commands:       codecs.NewRegistry(),
		events:         codecs.NewRegistry(),
		handlers:       map[string]func(S, any, Meta) ([]any, error){},
		appliers:       map[string]func(*S, any){},
		stateSchema:    1,
		stateUpcasters: map[int]codecs.Upcaster{},
	}
}

// Handle registers h for commands of type name whose data decodes into C.
// h returns event values (not pointers) registered with On, or an error: a
// *codecs.Rejection for a refused command; any other error is a bug and
// rejects the command with code internal.
func Handle[S, C any](a *Aggregate[S], name string, h func(s S, c C, m Meta) ([]any, error)) {
	if err := codecs.Register[C](a.commands, name, 1); err != nil {
		panic(fmt.Sprintf("processors: aggregate %q: %v", a.name, err))
	}
	a.handlers[name] = func(s S, c any, m Meta) ([]any, error) { return h(s, c.(C), m) }
}

// On registers the event type name with payload E at its current schema
// (1 for a new event) and the applier that folds it into the state.
func On[S, E any](a *Aggregate[S], name string, schema int, apply func(s *S, e E)) {
	if err := codecs.Register[E](a.events, name, schema); err != nil {
		panic(fmt.Sprintf("processors: aggregate %q: %v", a.name, err))
	}
	a.appliers[name] = func(s *S, e any) { apply(s, e.(E)) }
}

// UpcastEvent registers up to upgrade event name from schema from to
// from+1, for events recorded before the payload changed.
func (a *Aggregate[S]) UpcastEvent(name string, from int, up codecs.Upcaster) {
	if err := a.events.AddUpcaster(name, from, up); err != nil {
		panic(fmt.Sprintf("processors: aggregate %q: %v", a.name, err))
	}
}

// SetStateSchema sets the current schema of the encoded state (default 1).
// Snapshots written with an older schema are upgraded on read by the
// upcasters registered with UpcastState.
func (a *Aggregate[S]) SetStateSchema(schema int) {
	if schema < 1 {
		panic(fmt.Sprintf("processors: aggregate %q: state schema %d < 1", a.name, schema))
	}
	a.stateSchema = schema
}

// UpcastState registers up to upgrade the encoded state from schema from to
// from+1.
func (a *Aggregate[S]) UpcastState(from int, up codecs.Upcaster) {
	if _, dup := a.stateUpcasters[from]; dup {
		panic(fmt.Sprintf("processors: aggregate %q: state upcaster from %d registered twice", a.name, from))
	}
	a.stateUpcasters[from] = up
}

// Name returns the aggregate name.
func (a *Aggregate[S]) Name() string { return a.name }

// StateSchema returns the schema the state is written with.
func (a *Aggregate[S]) StateSchema() int { return a.stateSchema }

// CommandTypes returns the registered command type names, sorted.
func (a *Aggregate[S]) CommandTypes() []string { return a.commands.Names() }

// EventTypes returns the registered event type names, sorted.
func (a *Aggregate[S]) EventTypes() []string { return a.events.Names() }

// CommandName returns the registered name of command payload c.
func (a *Aggregate[S]) CommandName(c any) (string, bool) { return a.commands.NameOf(c) }

// EventName returns the registered name of event payload e.
func (a *Aggregate[S]) EventName(e any) (string, bool) { return a.events.NameOf(e) }

// Initial returns the state of an aggregate without events.
func (a *Aggregate[S]) Initial() S { return a.initial() }

// DecodeState decodes a snapshot's state written with schema, upgrading it.
func (a *Aggregate[S]) DecodeState(schema int, data json.RawMessage) (S, error) {
	if schema == 0 {
		schema = 1
	}
	if schema > a.stateSchema {
		var zero S
		return zero, fmt.Errorf("decode %s state: schema %d is newer than %d", a.name, schema, a.stateSchema)
	}
	for s := schema; s < a.stateSchema; s++ {
		up, ok := a.stateUpcasters[s]
		if !ok {
			var zero S
			return zero, fmt.Errorf("decode %s state: no upcaster from schema %d", a.name, s)
		}
		var err error
		if data, err = up(data); err != nil {
			var zero S
			return zero, fmt.Errorf("decode %s state: upcast from schema %d: %w", a.name, s, err)
		}
	}
	st := a.initial()
	if err := json.Unmarshal(data, &st); err != nil {
		var zero S
		return zero, fmt.Errorf("decode %s state: %w", a.name, err)
	}
	return st, nil
}

// decodeAny is DecodeState returning the state as any.
func (a *Aggregate[S]) decodeAny(schema int, data json.RawMessage) (any, error) {
	return a.DecodeState(schema, data)
}

// DecodeEvent decodes the payload of e into its registered type, upgrading
// old schemas.
func (a *Aggregate[S]) DecodeEvent(e codecs.Event) (any, error) {
	v, err := a.events.Decode(e.Type, e.Schema, e.Data)
	if err != nil {
		return nil, fmt.Errorf("decode %s event %s v%d: %w", a.name, e.Type, e.Version, err)
	}
	return v, nil
}

// Apply folds one decoded event payload into s.
func (a *Aggregate[S]) Apply(s *S, name string, payload any) error {
	apply, ok := a.appliers[name]
	if !ok {
		return fmt.Errorf("apply %s event %q: %w", a.name, name, codecs.ErrUnknownType)
	}
	apply(s, payload)
	return nil
}

// FoldState applies events, in order, to the initial state. It fails on an
// event it cannot decode or a version that does not follow its predecessor.
func (a *Aggregate[S]) FoldState(events []codecs.Event) (S, error) {
	s := a.initial()
	for i, e := range events {
		if want := uint64(i) + 1; e.Version != want {
			return s, fmt.Errorf("fold %s: event %d has version %d, want %d", a.name, i, e.Version, want)
		}
		v, err := a.DecodeEvent(e)
		if err != nil {
			return s, err
		}
		if err := a.Apply(&s, e.Type, v); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Fold is FoldState returning the JSON-encoded state, for comparison with a
// snapshot.
func (a *Aggregate[S]) Fold(events []codecs.Event) (json.RawMessage, error) {
	s, err := a.FoldState(events)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// Decide decides cmd against snap (nil when the aggregate has no snapshot)
// at time at. It never panics: a panicking handler or applier, an unknown
// command type and undecodable data all become rejections with DeadLetter
// set.
func (a *Aggregate[S]) Decide(snap *codecs.Snapshot, cmd *codecs.Command, at time.Time) Decision {
	return a.decide(snap, cmd, at, nil)
}

// decideCached is Decide taking the state from states when it holds the
// decoded snapshot state (only for an aggregate that CacheDecodedStates),
// and leaving the state it decided in it.
func (a *Aggregate[S]) decideCached(snap *codecs.Snapshot, cmd *codecs.Command, at time.Time, states *stateCache) Decision {
	if !a.cacheStates {
		states = nil
	}
	return a.decide(snap, cmd, at, states)
}

// CacheDecodedStates declares that S survives a JSON round trip exactly:
// decoding the encoding of any state the appliers make, from Initial(),
// gives a value reflect.DeepEqual to it. That rules out times in a location
// other than UTC, strings that are not valid UTF-8, unexported or lossy
// fields, and omitempty fields whose initial value is not their zero; nil
// and empty slices and maps are fine (JSON keeps them apart). The processor
// then keeps the state it decided last for each aggregate, decoded, and
// gives it to the next command's handler instead of decoding the snapshot's
// state again (only when the snapshot's state is byte for byte the encoding
// of the kept state). Handlers must not modify the state they are given, as
// always; appliers may.
func (a *Aggregate[S]) CacheDecodedStates() { a.cacheStates = true }

func (a *Aggregate[S]) decide(snap *codecs.Snapshot, cmd *codecs.Command, at time.Time, states *stateCache) (d Decision) {
	// A state taken from states is given back when nothing applied an
	// event to it (appliers may modify what it shares).
	var (
		giveBack func()
		applied  bool
	)
	defer func() {
		if p := recover(); p != nil {
			d = deadLetter(codecs.Reject(codecs.RejectInternal, "%s %s panicked: %v", a.name, cmd.Type, p))
			d.Stack = debug.Stack()
			return
		}
		if giveBack != nil && !applied {
			giveBack()
		}
	}()
	h, ok := a.handlers[cmd.Type]
	if !ok {
		return deadLetter(codecs.Reject(codecs.RejectUnknownCommand, "%s has no command %q (known: %v)", a.name, cmd.Type, a.CommandTypes()))
	}
	payload, err := a.commands.DecodeStrict(cmd.Type, cmd.Data)
	if err != nil {
		return deadLetter(codecs.Reject(codecs.RejectMalformed, "%s data: %v", cmd.Type, err))
	}
	var (
		state   S
		version uint64
	)
	if snap != nil {
		version = snap.Version
		if v, ok, cerr := states.take(cmd.AggregateID, snap.Schema, a.stateSchema, snap.State, a.decodeAny); cerr != nil {
			return deadLetter(codecs.Reject(codecs.RejectInternal, "%v", cerr))
		} else if ok {
			state = v.(S)
			taken := state
			giveBack = func() { states.put(cmd.AggregateID, a.stateSchema, snap.State, taken) }
		} else if state, err = a.DecodeState(snap.Schema, snap.State); err != nil {
			return deadLetter(codecs.Reject(codecs.RejectInternal, "%v", err))
		}
	} else {
		state = a.initial()
	}
	meta := Meta{AggregateID: cmd.AggregateID, CommandID: cmd.ID, Version: version, Time: at, Meta: cmd.Meta}

	values, err := h(state, payload, meta)
	if err != nil {
		var rej *codecs.Rejection
		if errors.As(err, &rej) {
			return Decision{Rejection: rej}
		}
		return deadLetter(codecs.Reject(codecs.RejectInternal, "%s %s: %v", a.name, cmd.Type, err))
	}
	events := make([]codecs.Event, 0, len(values))
	for i, v := range values {
		name, ok := a.events.NameOf(v)
		if !ok {
			return deadLetter(codecs.Reject(codecs.RejectInternal, "%s %s returned unregistered event %T", a.name, cmd.Type, v))
		}
		data, err := json.Marshal(v)
		if err != nil {
			return deadLetter(codecs.Reject(codecs.RejectInternal, "encode %s event %s: %v", a.name, name, err))
		}
		applied = true
		a.appliers[name](&state, v)
		events = append(events, codecs.Event{
			Aggregate:   a.name,
			AggregateID: cmd.AggregateID,
			Version:     version + uint64(i) + 1,
			Type:        name,
			CommandID:   cmd.ID,
			OccurredAt:  at,
			Schema:      a.events.Schema(name),
			Data:        data,
		})
	}
	var encoded []byte
	if ap, ok := any(state).(StateAppender); ok {
		encoded, err = ap.AppendJSON(nil)
	} else {
		encoded, err = json.Marshal(state)
	}
	if err != nil {
		return deadLetter(codecs.Reject(codecs.RejectInternal, "encode %s state: %v", a.name, err))
	}
	if len(events) > 0 {
		states.put(cmd.AggregateID, a.stateSchema, encoded, state)
	}
	return Decision{State: encoded, StateCompact: true, StateSchema: a.stateSchema, Events: events}
}

// StateAppender is implemented by a state that encodes itself faster than
// encoding/json does. AppendJSON must append to b exactly the bytes
// json.Marshal writes for the state (compact, with HTML characters
// escaped): snapshots are the same whichever encodes them. The aggregate's
// tests should compare the two.
type StateAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// Decision is the outcome of Definition.Decide.
type Decision struct {
	// State is the encoded state after the events (nil when rejected).
	State json.RawMessage
	// StateCompact reports that State is compact JSON as json.Marshal
	// writes it, so the snapshot copies it instead of compacting it again
	// (Aggregate.Decide sets it).
	StateCompact bool
	// StateSchema is the schema State is written with.
	StateSchema int
	// Events are the recorded events, versions following the snapshot's.
	Events []codecs.Event
	// Rejection is set when the command was refused.
	Rejection *codecs.Rejection
	// DeadLetter is set when the command could not be handled at all (bad
	// input or a bug), so it also goes to the dead-letter topic.
	DeadLetter bool
	// Stack is the handler's stack when it panicked.
	Stack []byte
}

func deadLetter(r *codecs.Rejection) Decision { return Decision{Rejection: r, DeadLetter: true} }

// Definition is the type-erased view of an Aggregate that the processor and
// publisher run. *Aggregate[S] implements it.
type Definition interface {
	// Name returns the aggregate name.
	Name() string
	// CommandTypes returns the command type names, sorted.
	CommandTypes() []string
	// EventTypes returns the event type names, sorted.
	EventTypes() []string
	// Decide decides cmd against snap (nil: the aggregate does not exist).
	Decide(snap *codecs.Snapshot, cmd *codecs.Command, at time.Time) Decision
	// Fold applies events 1..N to the initial state and encodes the result.
	Fold(events []codecs.Event) (json.RawMessage, error)
}

var _ Definition = (*Aggregate[struct{}])(nil)

// stateCachingDefinition is a Definition that can take its decoded states
// from a processor's cache (*Aggregate[S]).
type stateCachingDefinition interface {
	decideCached(snap *codecs.Snapshot, cmd *codecs.Command, at time.Time, states *stateCache) Decision
}

var _ stateCachingDefinition = (*Aggregate[struct{}])(nil)
