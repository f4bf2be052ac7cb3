package bleve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/numeric"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/b2dc4357/sourced/views"
)

// Elasticsearch error types of refused documents.
const (
	typeStrict  = "strict_dynamic_mapping_exception"
	typeParsing = "document_parsing_exception"
)

// Indexing options of the fields built from a document. Text is indexed for
// matching only; everything filtered or sorted on also gets doc values.
const (
	textOptions  = bindex.IndexField
	exactOptions = bindex.IndexField | bindex.DocValues
)

// refusal is why a document cannot be indexed: Elasticsearch's error type
// and reason.
type refusal struct {
	typ, reason string
}

// builder turns JSON documents into bleve documents, checking them against
// the mapping as Elasticsearch's strict dynamic mapping does. A builder
// belongs to one index; its analyzers are shared and safe for concurrent
// use.
type builder struct {
	schema *schema
	text   analysis.Analyzer
	kw     analysis.Analyzer
}

// build validates src against the mapping and returns the bleve document to
// index, holding src itself as _source (src must not be modified afterwards)
// and the version. A document the mapping refuses returns a refusal.
func (b *builder) build(id string, version uint64, src json.RawMessage) (*document.Document, *refusal) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, &refusal{typeParsing, fmt.Sprintf("failed to parse document with id '%s': %v", id, err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &refusal{typeParsing, fmt.Sprintf("failed to parse document with id '%s': data after the JSON object", id)}
	}
	if obj == nil {
		return nil, &refusal{typeParsing, fmt.Sprintf("failed to parse document with id '%s': not a JSON object", id)}
	}
	doc := document.NewDocument(id)
	w := walker{b: b, id: id, doc: doc}
	if r := w.object(obj, b.schema.props, "_doc", nil); r != nil {
		return nil, r
	}
	doc.AddField(document.NewTextFieldWithIndexingOptions(sourceField, nil, src, bindex.StoreField))
	doc.AddField(b.versionTerm(version))
	return doc, nil
}

// tombstone returns the document a delete leaves: no source, its version,
// and the deleted marker every search excludes.
func (b *builder) tombstone(id string, version uint64) *document.Document {
	doc := document.NewDocument(id)
	doc.AddField(b.versionTerm(version))
	doc.AddField(document.NewBooleanFieldWithIndexingOptions(deletedField, nil, true, exactOptions))
	return doc
}

func (b *builder) versionTerm(version uint64) *document.TextField {
	return document.NewTextFieldCustom(versionField, nil, strconv.AppendUint(nil, version, 10),
		bindex.IndexField|bindex.StoreField|bindex.DocValues, b.kw)
}

// walker walks one document.
type walker struct {
	b   *builder
	id  string
	doc *document.Document
}

// object walks the members of a JSON object mapped by props; parent names
// the object in errors, as Elasticsearch does ("_doc" for the root). Members
// are visited in name order so that a document with several faults always
// reports the same one.
func (w *walker) object(obj map[string]any, props map[string]*field, parent string, ap []uint64) *refusal {
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := props[name]
		if !ok {
			return &refusal{typeStrict, fmt.Sprintf(
				"mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", name, parent)}
		}
		if r := w.value(f, obj[name], ap); r != nil {
			return r
		}
	}
	return nil
}

// value indexes one JSON value of field f; arrays index every element
// (nested arrays are flattened, as in Elasticsearch) and null is skipped.
func (w *walker) value(f *field, v any, ap []uint64) *refusal {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		for i, e := range v {
			if r := w.value(f, e, append(ap[:len(ap):len(ap)], uint64(i))); r != nil {
				return r
			}
		}
		return nil
	case map[string]any:
		if f.typ != views.Object {
			return w.parseError(f, v)
		}
		return w.object(v, f.props, f.path, ap)
	}
	if f.typ == views.Object {
		return &refusal{typeParsing, fmt.Sprintf(
			"object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", f.path, f.path)}
	}
	return w.scalar(f, v, ap)
}

// scalar indexes a string, number or boolean, coercing it to the field's
// type as Elasticsearch does by default (numbers and booleans into strings,
// numeric strings into numbers, "true"/"false" into booleans).
func (w *walker) scalar(f *field, v any, ap []uint64) *refusal {
	switch f.typ {
	case views.Text, views.Keyword:
		s, ok := scalarString(v)
		if !ok {
			return w.parseError(f, v)
		}
		if f.typ == views.Keyword {
			w.doc.AddField(document.NewTextFieldCustom(f.path, ap, []byte(s), exactOptions, w.b.kw))
			return nil
		}
		w.doc.AddField(document.NewTextFieldCustom(f.path, ap, []byte(s), textOptions, w.b.text))
		if f.withKeyword && len(s) <= keywordIgnoreAbove {
			w.doc.AddField(document.NewTextFieldCustom(f.path+".keyword", ap, []byte(s), exactOptions, w.b.kw))
		}
	case views.Long:
		n, err := parseLong(v)
		if err != nil {
			return w.parseErrorCause(f, v, err)
		}
		w.doc.AddField(w.b.numberTerm(f.path, ap, numeric.Float64ToInt64(float64(n))))
	case views.Double:
		x, err := parseDouble(v)
		if err != nil {
			return w.parseErrorCause(f, v, err)
		}
		w.doc.AddField(w.b.numberTerm(f.path, ap, numeric.Float64ToInt64(x)))
	case views.Boolean:
		t, ok := parseBool(v)
		if !ok {
			return w.parseError(f, v)
		}
		w.doc.AddField(document.NewBooleanFieldWithIndexingOptions(f.path, ap, t, exactOptions))
	case views.Date:
		t, _, err := parseDateValue(v)
		if err != nil {
			return w.parseErrorCause(f, v, err)
		}
		if !representable(t) {
			return w.parseErrorCause(f, v, fmt.Errorf("cannot represent %s", t))
		}
		w.doc.AddField(w.b.dateTerms(f.path, ap, t.UnixNano()))
	}
	return nil
}

func (w *walker) parseError(f *field, v any) *refusal {
	return w.parseErrorCause(f, v, nil)
}

func (w *walker) parseErrorCause(f *field, v any, cause error) *refusal {
	preview, _ := json.Marshal(v)
	if s, ok := v.(string); ok {
		preview = []byte(s)
	}
	reason := fmt.Sprintf("failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'",
		f.path, f.typ, w.id, preview)
	if cause != nil {
		reason += ": " + cause.Error()
	}
	return &refusal{typeParsing, reason}
}

// scalarString renders a JSON scalar as Elasticsearch indexes it into a text
// or keyword field.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// parseLong reads a long: an integer, or a number or numeric string with a
// fraction, which is truncated (Elasticsearch's coerce).
func parseLong(v any) (int64, error) {
	s, err := numericString(v)
	if err != nil {
		return 0, err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("for input string: %q", s)
	}
	if math.IsNaN(x) || x < math.MinInt64 || x >= math.MaxInt64 {
		return 0, fmt.Errorf("value [%s] is out of range for a long", s)
	}
	return int64(x), nil
}

// parseDouble reads a double from a number or a numeric string.
func parseDouble(v any) (float64, error) {
	s, err := numericString(v)
	if err != nil {
		return 0, err
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("for input string: %q", s)
	}
	return x, nil
}

// parseBool reads true, false, "true", "false" or "" (false), as
// Elasticsearch's boolean field does.
func parseBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch v {
		case "true":
			return true, true
		case "false", "":
			return false, true
		}
	}
	return false, false
}

// numericString returns the text of a JSON number or a string.
func numericString(v any) (string, error) {
	switch v := v.(type) {
	case json.Number:
		return v.String(), nil
	case string:
		return v, nil
	}
	return "", errors.New("not a number")
}
