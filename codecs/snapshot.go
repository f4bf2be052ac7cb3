package codecs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/b2dc4357/sourced/codecs/jsonlite"
)

// The light decoders of a Snapshot read only what their reader needs: the
// recent commands and the step's events make up most of a long-lived
// aggregate's snapshot, and skipping them makes a decode several times
// cheaper. Each returns encoding/json's error as it is, for its caller to
// wrap. Snapshots are encoded in full, by JSON[Snapshot].

// DecodeSnapshotSansStep decodes a table value without its step (Step is
// left empty): what the processor reads of its own snapshots (it replaces
// the step of every snapshot it writes), and what the gateway answers
// from.
func DecodeSnapshotSansStep(b []byte) (*Snapshot, error) {
	var s snapshotSansStep
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s.Snapshot, nil
}

// DecodeSnapshotStep decodes a table value without its state and recent
// commands (left empty): what the publisher reads (the aggregate id, the
// version and the step).
func DecodeSnapshotStep(b []byte) (*Snapshot, error) {
	var s snapshotStepOnly
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s.Snapshot, nil
}

// DecodeSnapshotForView decodes what a state view sees of a table value:
// what the version determines (the aggregate id, the version, the state, its
// schema and the update time). The input offset is left out because it
// moves on every snapshot of a version. State may share b's memory.
func DecodeSnapshotForView(b []byte) (Snapshot, error) {
	var s Snapshot
	err := DecodeSnapshotForViewInto(b, &s)
	return s, err
}

// DecodeSnapshotForViewInto is DecodeSnapshotForView decoding into *s,
// which it overwrites whole (the zero Snapshot on error): a caller decoding
// many records can reuse one Snapshot (nothing of the previous value is
// kept or written to).
func DecodeSnapshotForViewInto(b []byte, s *Snapshot) error {
	if decodeSnapshotForViewLite(b, s) {
		return nil
	}
	var vs viewSnapshot
	if err := json.Unmarshal(b, &vs); err != nil {
		*s = Snapshot{}
		return err
	}
	*s = Snapshot{AggregateID: vs.AggregateID, Version: vs.Version, Schema: vs.Schema,
		State: vs.State, UpdatedAt: vs.UpdatedAt}
	return nil
}

// decodeSnapshotForViewLite is DecodeSnapshotForView's fast path, without
// reflection, overwriting *s; ok is false when the input needs
// encoding/json (an escape, an unexpected type, invalid JSON), which then
// gives the exact answer.
func decodeSnapshotForViewLite(b []byte, s *Snapshot) (ok bool) {
	*s = Snapshot{}
	r := jsonlite.Reader{Data: b}
	if !r.BeginObject() {
		return false
	}
	for {
		key, more := r.NextKey()
		if !more {
			break
		}
		switch string(key) {
		case "aggregate_id":
			if !r.Null() {
				s.AggregateID = r.String()
			}
		case "version":
			if !r.Null() {
				s.Version = r.Uint()
			}
		case "schema":
			if !r.Null() {
				s.Schema = r.Int()
			}
		case "state":
			if raw := r.Raw(); raw != nil {
				s.State = raw[:len(raw):len(raw)]
			}
		case "updated_at":
			if raw := r.Raw(); raw != nil {
				if t, ok := jsonlite.ParseTime(raw); ok {
					s.UpdatedAt = t
				} else if err := s.UpdatedAt.UnmarshalJSON(raw); err != nil {
					return false
				}
			}
		default:
			if jsonlite.FoldsToAny(key, "aggregate_id", "version", "schema", "state", "updated_at") {
				return false
			}
			r.Skip()
		}
	}
	return r.End() == nil
}

// SnapshotStepCodec is the goka codec of a table topic for a reader of the
// steps only (the publisher): it encodes like JSON[Snapshot] and decodes
// with DecodeSnapshotStep.
type SnapshotStepCodec struct{}

// Encode encodes a *Snapshot in full.
func (SnapshotStepCodec) Encode(v any) ([]byte, error) { return JSON[Snapshot]{}.Encode(v) }

// Decode returns a *Snapshot without state and recent commands.
func (SnapshotStepCodec) Decode(b []byte) (any, error) {
	s, err := DecodeSnapshotStep(b)
	if err != nil {
		return nil, fmt.Errorf("codecs: decode snapshot step: %w", err)
	}
	return s, nil
}

// snapshotSansStep shadows Snapshot.Step with a field that ignores its
// value: encoding/json prefers the shallower field.
type snapshotSansStep struct {
	Snapshot
	Step skipJSON `json:"step"`
}

// snapshotStepOnly shadows the fields the publisher does not read.
type snapshotStepOnly struct {
	Snapshot
	State  skipJSON `json:"state"`
	Recent skipJSON `json:"recent"`
}

type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// viewSnapshot is the part of a snapshot a state view sees.
type viewSnapshot struct {
	AggregateID string          `json:"aggregate_id"`
	Version     uint64          `json:"version"`
	Schema      int             `json:"schema"`
	State       json.RawMessage `json:"state"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// DecodeStep decodes the step of a table value: all the publisher reads.
// codecs.JSON writes the step last, so it is found from the end of the value
// and only the step is decoded, whatever the size of the state and of the
// recent commands before it. A value where that does not work (the step is
// not the last top-level field, or its key is written otherwise) is decoded
// in full. Like encoding/json, it takes the last top-level "step"; unlike
// it, it does not merge a step given twice, which codecs.JSON never writes,
// and it does not check the JSON before the step (of an object: the value
// must start with '{'); table values are written by the processor.
func DecodeStep(b []byte) (Step, error) {
	const key = `,"step":`
	if i := bytes.LastIndex(b, []byte(key)); i > 0 && b[0] == '{' {
		// {"step":...} parses only if the key is at the top level: below
		// it, the tail closes more objects than it opens.
		tail := make([]byte, 0, len(b)-i)
		tail = append(tail, '{')
		tail = append(tail, b[i+1:]...)
		var s stepOnly
		if json.Unmarshal(tail, &s) == nil {
			return s.Step, nil
		}
	}
	s, err := DecodeSnapshotStep(b)
	if err != nil {
		return Step{}, err
	}
	return s.Step, nil
}

type stepOnly struct {
	Step Step `json:"step"`
}

// RawStep is a snapshot's step with its events left encoded, as the
// snapshot holds them: what the publisher copies to the events topic.
type RawStep struct {
	CommandID string            `json:"command_id"`
	Events    []json.RawMessage `json:"events"`
}

// DecodeRawStep is DecodeStep leaving the events encoded. Each event is
// the text JSON[Event] wrote for it in the step, so publishing it as it is
// writes the bytes that decoding and encoding it again would (the
// aggregate, its id, the command id and the type are valid UTF-8, and
// event data is compact JSON).
func DecodeRawStep(b []byte) (RawStep, error) {
	const key = `,"step":`
	if i := bytes.LastIndex(b, []byte(key)); i > 0 && b[0] == '{' {
		tail := make([]byte, 0, len(b)-i)
		tail = append(tail, '{')
		tail = append(tail, b[i+1:]...)
		var s rawStepOnly
		if json.Unmarshal(tail, &s) == nil {
			return s.Step, nil
		}
	}
	var s rawStepSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return RawStep{}, err
	}
	return s.Step, nil
}

type rawStepOnly struct {
	Step RawStep `json:"step"`
}

// rawStepSnapshot shadows every field of a snapshot but the step.
type rawStepSnapshot struct {
	Snapshot
	State  skipJSON `json:"state"`
	Recent skipJSON `json:"recent"`
	Step   RawStep  `json:"step"`
}

// EventVersion reads the version of an encoded event. JSON[Event] writes
// it third, after two strings, where it is read without decoding the event;
// otherwise the event is decoded.
func EventVersion(e json.RawMessage) (uint64, error) {
	if v, ok := leadingVersion(e); ok {
		return v, nil
	}
	var v struct {
		Version uint64 `json:"version"`
	}
	if err := json.Unmarshal(e, &v); err != nil {
		return 0, fmt.Errorf("codecs: event version: %w", err)
	}
	return v.Version, nil
}

// RawStepCodec is the goka codec of a table topic for the publisher: it
// encodes a *Snapshot like JSON[Snapshot] and decodes a *RawStep with
// DecodeRawStep.
type RawStepCodec struct{}

// Encode encodes a *Snapshot in full.
func (RawStepCodec) Encode(v any) ([]byte, error) { return JSON[Snapshot]{}.Encode(v) }

// Decode returns the *RawStep of a table value.
func (RawStepCodec) Decode(b []byte) (any, error) {
	s, err := DecodeRawStep(b)
	if err != nil {
		return nil, fmt.Errorf("codecs: decode snapshot step: %w", err)
	}
	return &s, nil
}

// EventCodec is the goka codec of an events topic for a writer of events
// taken from snapshots: it encodes a json.RawMessage (an event encoded by
// JSON[Event], see DecodeRawStep) compacted, and an *Event or Event like
// JSON[Event]; it decodes an *Event.
type EventCodec struct{}

// Encode compacts an encoded event (a no-op on JSON[Event]'s output; the
// snapshots of the golden files are indented), or encodes an event.
func (EventCodec) Encode(v any) ([]byte, error) {
	if raw, ok := v.(json.RawMessage); ok {
		buf := bytes.NewBuffer(make([]byte, 0, len(raw)))
		if err := json.Compact(buf, raw); err != nil {
			return nil, fmt.Errorf("codecs: encode event: %w", err)
		}
		return buf.Bytes(), nil
	}
	return JSON[Event]{}.Encode(v)
}

// Decode returns an *Event.
func (EventCodec) Decode(b []byte) (any, error) { return JSON[Event]{}.Decode(b) }

// EncodeSnapshotCompactState encodes s exactly as JSON[Snapshot] does,
// given that s.State is compact JSON as encoding/json writes it (the output
// of json.Marshal, or the state of a snapshot codecs.JSON wrote): the state
// is copied as it is, where JSON[Snapshot] would scan it to compact it again,
// which costs as much as encoding the rest of the snapshot many times over
// for a large state.
func EncodeSnapshotCompactState(s *Snapshot) ([]byte, error) {
	id, err := json.Marshal(s.AggregateID)
	if err != nil {
		return nil, err
	}
	at, err := s.UpdatedAt.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalJSON for type time.Time: %w", err)
	}
	step, err := json.Marshal(s.Step)
	if err != nil {
		return nil, err
	}
	var input []byte
	if s.Input != "" {
		if input, err = json.Marshal(s.Input); err != nil {
			return nil, err
		}
	}
	state := []byte(s.State)
	if len(state) == 0 {
		state = []byte("null")
	}
	b := make([]byte, 0, 160+len(id)+len(state)+len(at)+len(input)+100*len(s.Recent)+len(step))
	b = append(b, `{"aggregate_id":`...)
	b = append(b, id...)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, s.Version, 10)
	b = append(b, `,"schema":`...)
	b = strconv.AppendInt(b, int64(s.Schema), 10)
	b = append(b, `,"state":`...)
	b = append(b, state...)
	b = append(b, `,"updated_at":`...)
	b = append(b, at...)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, s.Offset, 10)
	if input != nil {
		b = append(b, `,"input":`...)
		b = append(b, input...)
	}
	b = append(b, `,"recent":`...)
	if b, err = appendRecent(b, s.Recent); err != nil {
		return nil, err
	}
	b = append(b, `,"step":`...)
	b = append(b, step...)
	b = append(b, '}')
	return b, nil
}

// appendRecent appends what json.Marshal writes for recent, without
// reflection: the dedupe window is most of a long-lived aggregate's
// snapshot.
func appendRecent(b []byte, recent []Recent) ([]byte, error) {
	if recent == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range recent {
		r := &recent[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"command_id":`...)
		b = jsonlite.AppendString(b, r.CommandID)
		b = append(b, `,"version":`...)
		b = strconv.AppendUint(b, r.Version, 10)
		b = append(b, `,"events":`...)
		b = strconv.AppendInt(b, int64(r.Events), 10)
		if r.Status != "" {
			b = append(b, `,"status":`...)
			b = jsonlite.AppendString(b, string(r.Status))
		}
		if r.Error != nil {
			b = append(b, `,"error":{"code":`...)
			b = jsonlite.AppendString(b, r.Error.Code)
			b = append(b, `,"message":`...)
			b = jsonlite.AppendString(b, r.Error.Message)
			b = append(b, '}')
		}
		if r.Fingerprint != "" {
			b = append(b, `,"fingerprint":`...)
			b = jsonlite.AppendString(b, r.Fingerprint)
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// leadingVersion reads the version of an event encoded as
// {"aggregate":"…","aggregate_id":"…","version":N, with strings without
// escapes (so no quote inside them).
func leadingVersion(e []byte) (uint64, bool) {
	rest, ok := skipPlainField(e, `{"aggregate":"`)
	if !ok {
		return 0, false
	}
	if rest, ok = skipPlainField(rest, `,"aggregate_id":"`); !ok {
		return 0, false
	}
	const key = `,"version":`
	if !bytes.HasPrefix(rest, []byte(key)) {
		return 0, false
	}
	rest = rest[len(key):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n >= len(rest) || rest[n] != ',' || (rest[0] == '0' && n > 1) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	return v, err == nil
}

// skipPlainField skips prefix and the string it opens, which must hold
// no backslash, returning what follows the closing quote.
func skipPlainField(b []byte, prefix string) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return nil, false
	}
	b = b[len(prefix):]
	end := bytes.IndexByte(b, '"')
	if end < 0 || bytes.IndexByte(b[:end], '\\') >= 0 {
		return nil, false
	}
	return b[end+1:], true
}
