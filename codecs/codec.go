package codecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// JSON is a strict goka codec for *T encoded as JSON. Encode accepts T or
// *T; Decode returns *T or an error. Use it for values only sourced writes
// (snapshots, events, results).
type JSON[T any] struct{}

// Encode marshals v, which must be a T or a *T.
func (JSON[T]) Encode(v any) ([]byte, error) {
	switch t := v.(type) {
	case *T:
		return json.Marshal(t)
	case T:
		return json.Marshal(&t)
	}
	var zero T
	return nil, fmt.Errorf("codecs: encode %T, want *%T", v, zero)
}

// Decode unmarshals b into a new *T.
func (JSON[T]) Decode(b []byte) (any, error) {
	t := new(T)
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("codecs: decode %T: %w", t, err)
	}
	return t, nil
}

// Bytes is a goka codec that passes []byte through unchanged (for the
// dead-letter topic, which keeps input as it arrived).
type Bytes struct{}

// Encode returns v, which must be a []byte (nil encodes to nil).
func (Bytes) Encode(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("codecs: encode %T, want []byte", v)
}

// Decode returns b itself; goka hands each callback its own buffer.
func (Bytes) Decode(b []byte) (any, error) { return b, nil }

// DefaultMaxCommandBytes is the largest command message CommandCodec accepts
// by default: 1 MiB, the Kafka default message size and the gateway limit.
const DefaultMaxCommandBytes = 1 << 20

// ErrMalformed is wrapped by every Command.Err set by CommandCodec.
var ErrMalformed = errors.New("codecs: malformed command")

// CommandCodec decodes commands leniently: Decode never returns an error, so
// bad input cannot stop a goka partition. A message that is too large, is
// not a JSON object, or lacks id, aggregate, aggregate_id or type decodes
// into a *Command whose Err wraps ErrMalformed and whose Raw holds the
// message. Encode is strict.
type CommandCodec struct {
	// MaxBytes is the largest accepted message. Default: 1 MiB.
	MaxBytes int
}

// Encode marshals a *Command or Command after checking its required fields.
// A []byte is passed through unchanged, unchecked: tools and tests use it to
// send input exactly as given.
func (c CommandCodec) Encode(v any) ([]byte, error) {
	var cmd *Command
	switch t := v.(type) {
	case []byte:
		return t, nil
	case *Command:
		cmd = t
	case Command:
		cmd = &t
	default:
		return nil, fmt.Errorf("codecs: encode %T, want *codecs.Command", v)
	}
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(cmd)
}

// Decode never fails; see the type documentation.
func (c CommandCodec) Decode(b []byte) (any, error) {
	return c.DecodeCommand(b), nil
}

// DecodeCommand is Decode with a concrete result type.
func (c CommandCodec) DecodeCommand(b []byte) *Command {
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxCommandBytes
	}
	cmd := new(Command)
	if len(b) > limit {
		cmd.Err = fmt.Errorf("%w: message of %d bytes exceeds the limit of %d", ErrMalformed, len(b), limit)
		cmd.Raw = b
		// The broker bounds message size, so reading the ids of an
		// oversized command costs at most one parse; it lets the client
		// get a rejection instead of a timeout.
		salvage(b, cmd)
		return cmd
	}
	if err := json.Unmarshal(b, cmd); err != nil {
		// Keep whatever the fields are when only some of them are bad,
		// e.g. a data payload of the wrong kind: the id may still be
		// readable, so the client can be answered.
		salvage(b, cmd)
		cmd.Err = fmt.Errorf("%w: %w", ErrMalformed, err)
		cmd.Raw = b
		return cmd
	}
	if err := cmd.Validate(); err != nil {
		cmd.Err = err
	}
	cmd.Raw = b
	return cmd
}

// salvage reads the string identity fields of a command whose full decode
// failed, ignoring every other field.
func salvage(b []byte, cmd *Command) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return
	}
	read := func(name string, dst *string) {
		if raw, ok := fields[name]; ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				*dst = s
			}
		}
	}
	read("id", &cmd.ID)
	read("aggregate", &cmd.Aggregate)
	read("aggregate_id", &cmd.AggregateID)
	read("type", &cmd.Type)
}

// Validate reports the first missing or invalid required field, wrapping
// ErrMalformed. Ids must satisfy ValidateID.
func (c *Command) Validate() error {
	if err := ValidateID(c.ID); err != nil {
		return fmt.Errorf("%w: id: %w", ErrMalformed, err)
	}
	if c.Aggregate == "" {
		return fmt.Errorf("%w: aggregate is missing", ErrMalformed)
	}
	if err := ValidateID(c.AggregateID); err != nil {
		return fmt.Errorf("%w: aggregate_id: %w", ErrMalformed, err)
	}
	if c.Type == "" {
		return fmt.Errorf("%w: type is missing", ErrMalformed)
	}
	if len(c.Data) > 0 {
		d := bytes.TrimSpace(c.Data)
		if len(d) == 0 || (d[0] != '{' && !bytes.Equal(d, []byte("null"))) {
			return fmt.Errorf("%w: data must be a JSON object", ErrMalformed)
		}
	}
	return nil
}

// MaxIDLength is the longest accepted aggregate or command id.
const MaxIDLength = 128

// ValidateID checks that id has 1 to 128 characters of [A-Za-z0-9._:-].
func ValidateID(id string) error {
	if id == "" {
		return errors.New("missing")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("longer than %d characters", MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == ':', c == '-':
		default:
			return fmt.Errorf("character %q at %d is not one of [A-Za-z0-9._:-]", c, i)
		}
	}
	return nil
}
