package views

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/b2dc4357/sourced/codecs"
)

// Source says what a view reads.
type Source uint8

const (
	// FromState views read the aggregate's table (one snapshot per
	// accepted command) and keep one document per aggregate.
	FromState Source = iota
	// FromEvents views read the aggregate's events topic and keep one
	// document per event, in monthly indices.
	FromEvents
)

// Action is what a projection does with its document.
type Action uint8

const (
	// Skip writes nothing.
	Skip Action = iota
	// Put writes Doc.
	Put
	// Remove deletes the document.
	Remove
)

// Projection is the outcome of projecting one snapshot or event.
type Projection struct {
	// Action says what to do.
	Action Action
	// ID is the document id. Default: the aggregate id for state views,
	// "<aggregate id>:<version>" for event views.
	ID string
	// Version is the external version. Default: the snapshot's or event's
	// version.
	Version uint64
	// Month places an event view's document in a monthly index
	// ("2026.11"). Default: the month the event occurred in (UTC).
	Month string
	// Doc is the document; it is encoded as JSON, by its AppendJSON
	// method when it implements DocAppender.
	Doc any
}

// DocAppender is a document that encodes itself as JSON, faster than
// encoding/json's reflection. AppendJSON appends the document's JSON
// object to dst; the projector trusts it to be valid JSON and does not
// compact or check it.
type DocAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// View is a named projection of one aggregate into a store.
type View struct {
	// Name names the view, its read alias and its indices
	// ("invoice-search"). Lower case: it becomes an index name.
	Name string
	// Aggregate is the aggregate the view reads ("invoice").
	Aggregate string
	// Source says whether the view reads snapshots or events.
	Source Source
	// Mapping is the schema of the documents.
	Mapping Mapping
	// State projects a snapshot (FromState views). The snapshot carries
	// its aggregate id, version, schema, state and update time: what the
	// version determines. The processor writes more than one snapshot of
	// a version (a command accepted with no event, a rejection, a
	// conflict: each is remembered for dedupe), and a store keeps only the
	// first of a version (the version is the external version), so these
	// must project the same document; they differ only in their input
	// offset, Recent and Step (dedupe bookkeeping and the step's events),
	// which views are not given. A view of events reads the events topic
	// (FromEvents). The projector decodes every snapshot into the same
	// *codecs.Snapshot: State may return its fields (or values made of
	// them) in the Projection, which is encoded before the next snapshot
	// is decoded, but must not keep s itself, in the Projection, in the
	// error or elsewhere.
	State func(s *codecs.Snapshot) (Projection, error)
	// Event projects an event (FromEvents views).
	Event func(e *codecs.Event) (Projection, error)
}

var viewName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,100}$`)

// Validate reports every problem of the definition.
func (v *View) Validate() error {
	var errs []error
	if !viewName.MatchString(v.Name) {
		errs = append(errs, fmt.Errorf("view name %q: want lower-case letters, digits, '-' and '_'", v.Name))
	}
	if v.Aggregate == "" {
		errs = append(errs, fmt.Errorf("view %s: aggregate missing", v.Name))
	}
	switch v.Source {
	case FromState:
		if v.State == nil {
			errs = append(errs, fmt.Errorf("view %s: a state view needs State", v.Name))
		}
	case FromEvents:
		if v.Event == nil {
			errs = append(errs, fmt.Errorf("view %s: an event view needs Event", v.Name))
		}
	default:
		errs = append(errs, fmt.Errorf("view %s: unknown source %d", v.Name, v.Source))
	}
	if err := v.Mapping.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("view %s: %w", v.Name, err))
	}
	return errors.Join(errs...)
}

// SourceTopic is the topic the view reads.
func (v *View) SourceTopic(t codecs.Topics) string {
	if v.Source == FromEvents {
		return t.Events
	}
	return t.Table
}

// Index names. A view's documents live in generations of indices: a
// rebuild fills generation N+1 while N serves, then swaps the read alias
// (the view's name). State views have one index per generation,
// "<name>-v<N>", which is also the alias's write index; event views have
// one per month, "<name>-v<N>-<yyyy.mm>". Generations are numbered rather
// than timestamped so that replicas initialising a view at the same time
// agree on the name and two concurrent rebuilds collide instead of both
// running.

// IndexName is the concrete index of generation gen (and month, for event
// views).
func (v *View) IndexName(gen int, month string) string {
	if v.Source == FromEvents {
		return fmt.Sprintf("%s-v%d-%s", v.Name, gen, month)
	}
	return fmt.Sprintf("%s-v%d", v.Name, gen)
}

// Generation parses the generation out of one of the view's index names.
func (v *View) Generation(index string) (int, bool) {
	rest, ok := strings.CutPrefix(index, v.Name+"-v")
	if !ok {
		return 0, false
	}
	if v.Source == FromEvents {
		num, _, ok := strings.Cut(rest, "-")
		if !ok {
			return 0, false
		}
		rest = num
	}
	gen, err := strconv.Atoi(rest)
	return gen, err == nil && gen > 0
}

// projectRecord projects one record of the view's source read in offset
// order: for a state view, a fence of the table (a new owner took the
// partition) and a snapshot a deposed owner wrote after it project to
// nothing (DESIGN.md guarantee 7; deposed reports the latter). epoch is the
// record's owner epoch (codecs.HeaderEpoch, 0 without). A snapshot is
// decoded into snap, as projectInto does.
func (v *View) projectRecord(epochs *codecs.Epochs, partition int32, key, value []byte, e uint64, snap *codecs.Snapshot) (p Projection, deposed bool, err error) {
	if skip, deposed, _ := v.checkEpoch(epochs, partition, key, e); skip {
		return Projection{}, deposed, nil
	}
	p, err = v.projectInto(value, snap)
	return p, false, err
}

// checkEpoch applies the epoch rule of projectRecord to the next record of
// partition: skip is set for a fence and for a snapshot of a deposed owner
// (deposed). It also returns the partition's epoch after the record. Event
// views skip nothing.
func (v *View) checkEpoch(epochs *codecs.Epochs, partition int32, key []byte, e uint64) (skip, deposed bool, current uint64) {
	if v.Source != FromState {
		return false, false, 0
	}
	if bytes.HasPrefix(key, []byte(codecs.FencePrefix)) {
		epochs.Fence(partition, e)
		return true, false, epochs.Max(partition)
	}
	stale, current := epochs.Observe(partition, e)
	return stale, stale, current
}

// project turns one source record into a projection, filling defaults.
// A decode failure is returned as a *projectError (dead-lettered).
func (v *View) project(value []byte) (Projection, error) {
	return v.projectInto(value, nil)
}

// projectInto is project decoding a snapshot into s (a new one when s is
// nil): the projector and a rebuild decode every record they project into
// the same one, which the projection's document is encoded before the
// next record overwrites.
func (v *View) projectInto(value []byte, s *codecs.Snapshot) (Projection, error) {
	var p Projection
	switch v.Source {
	case FromState:
		if value == nil {
			return Projection{}, nil // a table tombstone: nothing to project
		}
		if s == nil {
			s = new(codecs.Snapshot)
		}
		if err := codecs.DecodeSnapshotForViewInto(value, s); err != nil {
			return p, &projectError{code: "malformed", err: fmt.Errorf("decode snapshot: %w", err)}
		}
		pr, err := callProject(func() (Projection, error) { return v.State(s) })
		if err != nil {
			return p, err
		}
		p = pr
		if p.ID == "" {
			p.ID = s.AggregateID
		}
		if p.Version == 0 {
			p.Version = s.Version
		}
	case FromEvents:
		var e codecs.Event
		if err := json.Unmarshal(value, &e); err != nil {
			return p, &projectError{code: "malformed", err: fmt.Errorf("decode event: %w", err)}
		}
		pr, err := callProject(func() (Projection, error) { return v.Event(&e) })
		if err != nil {
			return p, err
		}
		p = pr
		if p.ID == "" {
			p.ID = e.AggregateID + ":" + strconv.FormatUint(e.Version, 10)
		}
		if p.Version == 0 {
			p.Version = e.Version
		}
		if p.Month == "" {
			p.Month = e.OccurredAt.UTC().Format("2006.01")
		}
	}
	if p.Action != Skip && p.ID == "" {
		return p, &projectError{code: "invalid", err: errors.New("projection without a document id")}
	}
	return p, nil
}

// callProject runs a user projection, turning a panic or an error into a
// dead-letter reason.
func callProject(f func() (Projection, error)) (p Projection, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &projectError{code: "internal", err: fmt.Errorf("projection panicked: %v", r)}
		}
	}()
	p, err = f()
	if err != nil {
		return p, &projectError{code: "invalid", err: fmt.Errorf("project: %w", err)}
	}
	return p, nil
}

// projectError is a record the view cannot project: it is dead-lettered.
type projectError struct {
	code string
	err  error
}

func (e *projectError) Error() string { return e.err.Error() }
func (e *projectError) Unwrap() error { return e.err }
