package codecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
)

// ErrUnknownType is returned when a payload type is not registered.
var ErrUnknownType = errors.New("codecs: unknown type")

// Upcaster rewrites a payload written with schema n into schema n+1.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// Registry maps payload type names to Go types and their current schema,
// and upgrades payloads written with an older schema on read. Register all
// types before use; after that a Registry is safe for concurrent reads.
type Registry struct {
	byName map[string]*entry
	byType map[reflect.Type]string
}

type entry struct {
	name      string
	typ       reflect.Type
	schema    int
	upcasters map[int]Upcaster
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*entry{}, byType: map[reflect.Type]string{}}
}

// Register records T under name with its current schema (1 for a new
// type). It fails when name or T is registered already or schema < 1.
func Register[T any](r *Registry, name string, schema int) error {
	return r.register(name, reflect.TypeFor[T](), schema)
}

func (r *Registry) register(name string, typ reflect.Type, schema int) error {
	if name == "" {
		return errors.New("codecs: register: empty type name")
	}
	if schema < 1 {
		return fmt.Errorf("codecs: register %q: schema %d < 1", name, schema)
	}
	if _, ok := r.byName[name]; ok {
		return fmt.Errorf("codecs: register %q: name already registered", name)
	}
	if other, ok := r.byType[typ]; ok {
		return fmt.Errorf("codecs: register %q: type %v already registered as %q", name, typ, other)
	}
	r.byName[name] = &entry{name: name, typ: typ, schema: schema, upcasters: map[int]Upcaster{}}
	r.byType[typ] = name
	return nil
}

// AddUpcaster registers up to turn schema from of name into schema from+1.
// A payload of schema s is upgraded by the chain s, s+1, ... up to the
// current schema; every link must be registered.
func (r *Registry) AddUpcaster(name string, from int, up Upcaster) error {
	e, ok := r.byName[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, name)
	}
	if from < 1 || from >= e.schema {
		return fmt.Errorf("codecs: upcaster for %q from schema %d: must be in [1, %d)", name, from, e.schema)
	}
	if _, dup := e.upcasters[from]; dup {
		return fmt.Errorf("codecs: upcaster for %q from schema %d registered twice", name, from)
	}
	e.upcasters[from] = up
	return nil
}

// Schema returns the current schema of name, or 0 if it is not registered.
func (r *Registry) Schema(name string) int {
	if e, ok := r.byName[name]; ok {
		return e.schema
	}
	return 0
}

// NameOf returns the registered name of v's type.
func (r *Registry) NameOf(v any) (string, bool) {
	name, ok := r.byType[reflect.TypeOf(v)]
	return name, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Upcast upgrades data of type name from schema to the current schema. A
// schema of 0 counts as 1. It fails for an unknown type, a schema newer
// than the registered one (written by newer code), or a missing link.
func (r *Registry) Upcast(name string, schema int, data json.RawMessage) (json.RawMessage, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, name)
	}
	if schema == 0 {
		schema = 1
	}
	if schema > e.schema {
		return nil, fmt.Errorf("codecs: %q schema %d is newer than the known schema %d", name, schema, e.schema)
	}
	for s := schema; s < e.schema; s++ {
		up, ok := e.upcasters[s]
		if !ok {
			return nil, fmt.Errorf("codecs: %q has no upcaster from schema %d", name, s)
		}
		next, err := up(data)
		if err != nil {
			return nil, fmt.Errorf("codecs: upcast %q from schema %d: %w", name, s, err)
		}
		data = next
	}
	return data, nil
}

// Decode upgrades data to the current schema and decodes it into a new
// value of the registered type, returned by value (not as a pointer).
// Unknown fields are ignored, so old readers accept newer optional fields.
func (r *Registry) Decode(name string, schema int, data json.RawMessage) (any, error) {
	return r.decode(name, schema, data, false)
}

// DecodeStrict is Decode that also refuses unknown fields, for input from
// clients, where an unknown field is most likely a typo.
func (r *Registry) DecodeStrict(name string, data json.RawMessage) (any, error) {
	return r.decode(name, 0, data, true)
}

func (r *Registry) decode(name string, schema int, data json.RawMessage, strict bool) (any, error) {
	data, err := r.Upcast(name, schema, data)
	if err != nil {
		return nil, err
	}
	e := r.byName[name]
	ptr := reflect.New(e.typ)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return ptr.Elem().Interface(), nil
	}
	if !strict {
		if err := json.Unmarshal(data, ptr.Interface()); err != nil {
			return nil, fmt.Errorf("codecs: decode %q: %w", name, err)
		}
		return ptr.Elem().Interface(), nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ptr.Interface()); err != nil {
		return nil, fmt.Errorf("codecs: decode %q: %w", name, err)
	}
	// Anything but whitespace after the value is refused, as json.Unmarshal
	// does. dec.More is not enough: it reports false for a stray ']' or '}'.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("codecs: decode %q: trailing data", name)
	}
	return ptr.Elem().Interface(), nil
}
