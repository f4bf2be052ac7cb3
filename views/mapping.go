package views

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// FieldType is the type of a mapped field, named as in Elasticsearch.
type FieldType string

const (
	// Text is analysed full text.
	Text FieldType = "text"
	// Keyword is an exact string, for filters, sorting and aggregations.
	Keyword FieldType = "keyword"
	// Long is a 64-bit integer.
	Long FieldType = "long"
	// Double is a 64-bit float.
	Double FieldType = "double"
	// Boolean is true or false.
	Boolean FieldType = "boolean"
	// Date is an RFC 3339 timestamp or a YYYY-MM-DD date.
	Date FieldType = "date"
	// Object holds Properties.
	Object FieldType = "object"
)

// Field is one mapped field.
type Field struct {
	// Type is the field's type.
	Type FieldType
	// WithKeyword adds a "<field>.keyword" keyword sub-field to a text
	// field, for exact filters and sorting.
	WithKeyword bool
	// Properties are the sub-fields of an Object.
	Properties map[string]Field
}

// Mapping is the schema of a view's documents. Fields not listed are
// refused (Elasticsearch's "dynamic": "strict"), so a projection bug shows
// as a dead letter instead of a silently widened schema.
type Mapping struct {
	// Properties are the top-level fields.
	Properties map[string]Field
	// Shards is the number of primary shards. Default: 1.
	Shards int
	// Replicas is the number of replicas. Default: 1.
	Replicas int
	// GCDeletes is how long Elasticsearch remembers a deleted document's
	// version (index.gc_deletes). A write older than a delete that arrives
	// after this would bring the document back, so it must outlast the
	// longest a stale write can lag: a projector that lost its partition
	// while retrying a batch through an outage. Default: DefaultGCDeletes
	// (Elasticsearch's own default is 60 s). Bleve keeps tombstones forever.
	GCDeletes time.Duration
}

// DefaultGCDeletes is the default Mapping.GCDeletes.
const DefaultGCDeletes = time.Hour

// Validate reports every field with an unknown type or misplaced options.
func (m Mapping) Validate() error {
	return validateFields("", m.Properties)
}

func validateFields(prefix string, props map[string]Field) error {
	for _, name := range sortedNames(props) {
		f := props[name]
		path := prefix + name
		switch f.Type {
		case Text, Keyword, Long, Double, Boolean, Date:
			if len(f.Properties) > 0 {
				return fmt.Errorf("views: field %q of type %s has properties", path, f.Type)
			}
		case Object:
			if err := validateFields(path+".", f.Properties); err != nil {
				return err
			}
		default:
			return fmt.Errorf("views: field %q has unknown type %q", path, f.Type)
		}
		if f.WithKeyword && f.Type != Text {
			return fmt.Errorf("views: field %q: WithKeyword needs type text, not %s", path, f.Type)
		}
	}
	return nil
}

// Lookup returns the field at a dotted path ("lines.description",
// "username.keyword" for a text field's keyword sub-field).
func (m Mapping) Lookup(path string) (Field, bool) {
	props := m.Properties
	var f Field
	for rest := path; ; {
		name, tail, more := cut(rest)
		var ok bool
		f, ok = props[name]
		if !ok {
			return Field{}, false
		}
		if !more {
			return f, true
		}
		if f.Type == Text && f.WithKeyword && tail == "keyword" {
			return Field{Type: Keyword}, true
		}
		props, rest = f.Properties, tail
	}
}

func cut(path string) (head, tail string, more bool) {
	for i := 0; i < len(path); i++ {
		if path[i] == '.' {
			return path[:i], path[i+1:], true
		}
	}
	return path, "", false
}

// ElasticsearchBody renders the index-creation body for Elasticsearch:
// settings and a strict mapping.
func (m Mapping) ElasticsearchBody() json.RawMessage {
	shards, replicas := m.Shards, m.Replicas
	if shards <= 0 {
		shards = 1
	}
	if replicas < 0 {
		replicas = 0
	} else if replicas == 0 {
		replicas = 1
	}
	gcDeletes := m.GCDeletes
	if gcDeletes <= 0 {
		gcDeletes = DefaultGCDeletes
	}
	body := map[string]any{
		"settings": map[string]any{
			"index": map[string]any{
				"number_of_shards":   shards,
				"number_of_replicas": replicas,
				"gc_deletes":         fmt.Sprintf("%ds", int64(gcDeletes/time.Second)),
			},
		},
		"mappings": map[string]any{
			"dynamic":    "strict",
			"properties": esProperties(m.Properties),
		},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("views: render mapping: %v", err)) // only maps of strings and ints
	}
	return b
}

func esProperties(props map[string]Field) map[string]any {
	out := make(map[string]any, len(props))
	for name, f := range props {
		p := map[string]any{"type": string(f.Type)}
		switch f.Type {
		case Object:
			p["properties"] = esProperties(f.Properties)
		case Text:
			if f.WithKeyword {
				p["fields"] = map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}
			}
		case Date:
			p["format"] = "strict_date_optional_time||epoch_millis"
		}
		out[name] = p
	}
	return out
}

func sortedNames(props map[string]Field) []string {
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
