package bleve

import (
	"fmt"
	"sort"

	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/b2dc4357/sourced/views"
)

// Names of the fields the store adds to every bleve document. Elasticsearch
// reserves these names for metadata, so CreateIndex refuses a mapping that
// uses them.
const (
	// sourceField stores the document exactly as written (stored, not indexed).
	sourceField = "_source"
	// versionField holds the external version in decimal (stored and as doc
	// values, so Bulk reads it without loading _source).
	versionField = "_version"
	// deletedField marks a tombstone: a document a delete replaced, holding
	// only its version.
	deletedField = "_deleted"
)

// textAnalyzer is Elasticsearch's standard analyzer: Unicode word
// segmentation and lower-casing, no stop words. (bleve's own "standard"
// analyzer removes English stop words, which Elasticsearch's does not.)
const textAnalyzer = "es_standard"

// keywordIgnoreAbove is the longest value of a text field that its
// ".keyword" sub-field indexes, as the mapping views renders for
// Elasticsearch (ignore_above 256).
const keywordIgnoreAbove = 256

// reservedNames are top-level field names a mapping cannot use.
var reservedNames = map[string]bool{
	"_id": true, "_index": true, "_source": true, "_version": true,
	"_routing": true, "_seq_no": true, "_primary_term": true, "_deleted": true,
	"_score": true, "_doc": true,
}

// field is one mapped field, compiled from views.Field.
type field struct {
	// path is the dotted path from the document root ("lines.description").
	path        string
	typ         views.FieldType
	withKeyword bool
	props       map[string]*field
}

// schema is a mapping compiled for validating and indexing documents.
type schema struct {
	props map[string]*field
	// textFields are the paths of every text field, sorted: the full-text
	// query matches against them.
	textFields []string
}

func compileSchema(m views.Mapping) (*schema, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	for name := range m.Properties {
		if reservedNames[name] {
			return nil, fmt.Errorf("field [%s] is a metadata field and cannot be added inside a document", name)
		}
	}
	s := &schema{}
	s.props = s.compile("", m.Properties)
	sort.Strings(s.textFields)
	return s, nil
}

func (s *schema) compile(prefix string, props map[string]views.Field) map[string]*field {
	out := make(map[string]*field, len(props))
	for name, f := range props {
		c := &field{path: prefix + name, typ: f.Type, withKeyword: f.WithKeyword}
		if f.Type == views.Object {
			c.props = s.compile(c.path+".", f.Properties)
		}
		if f.Type == views.Text {
			s.textFields = append(s.textFields, c.path)
		}
		out[name] = c
	}
	return out
}

// indexMapping translates a views mapping into the bleve mapping the index is
// created with: static (no dynamic fields), text fields analysed with
// textAnalyzer, keyword fields with the keyword analyzer, and the store's own
// fields. Documents are indexed from fields the store builds itself (see
// document.go), so this mapping is what bleve persists and uses at query
// time (analyzers of match queries), and it describes the index to bleve
// tools.
func indexMapping(m views.Mapping) (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	if err := im.AddCustomAnalyzer(textAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("add analyzer %s: %w", textAnalyzer, err)
	}
	im.DefaultAnalyzer = textAnalyzer
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false

	dm := mapping.NewDocumentStaticMapping()
	addProperties(dm, m.Properties)

	src := mapping.NewTextFieldMapping()
	src.Index, src.Store, src.IncludeInAll, src.DocValues = false, true, false, false
	dm.AddFieldMappingsAt(sourceField, src)
	ver := mapping.NewKeywordFieldMapping()
	ver.Store, ver.IncludeInAll, ver.DocValues = true, false, true
	dm.AddFieldMappingsAt(versionField, ver)
	del := mapping.NewBooleanFieldMapping()
	del.IncludeInAll, del.DocValues = false, true
	dm.AddFieldMappingsAt(deletedField, del)

	im.DefaultMapping = dm
	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("validate bleve mapping: %w", err)
	}
	return im, nil
}

func addProperties(dm *mapping.DocumentMapping, props map[string]views.Field) {
	for name, f := range props {
		var fm *mapping.FieldMapping
		switch f.Type {
		case views.Object:
			sub := mapping.NewDocumentStaticMapping()
			addProperties(sub, f.Properties)
			dm.AddSubDocumentMapping(name, sub)
			continue
		case views.Text:
			fm = mapping.NewTextFieldMapping()
			fm.Analyzer = textAnalyzer
			fm.IncludeTermVectors = false
		case views.Keyword:
			fm = mapping.NewKeywordFieldMapping()
			fm.Analyzer = keyword.Name
		case views.Long, views.Double:
			fm = mapping.NewNumericFieldMapping()
		case views.Boolean:
			fm = mapping.NewBooleanFieldMapping()
		case views.Date:
			fm = mapping.NewDateTimeFieldMapping()
		}
		fm.Store, fm.IncludeInAll = false, false
		fms := []*mapping.FieldMapping{fm}
		if f.WithKeyword {
			kw := mapping.NewKeywordFieldMapping()
			kw.Name = name + ".keyword"
			kw.Store, kw.IncludeInAll = false, false
			fms = append(fms, kw)
		}
		dm.AddFieldMappingsAt(name, fms...)
	}
}
