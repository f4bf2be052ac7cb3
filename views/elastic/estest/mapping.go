package estest

import (
	"fmt"
	"sort"
	"strings"
)

// field is one node of a mapping: a leaf field with a type, or an object
// (typ "object" or "nested") with properties.
type field struct {
	typ     string
	props   map[string]*field // object children
	fields  map[string]*field // multi-fields
	dynamic string            // objects only: "", "true", "false", "strict", "runtime"
	params  map[string]any    // other mapping parameters, echoed by GET
}

// mapping is an index's mapping: the root object plus root-only settings.
type mapping struct {
	root *field
	meta map[string]any // _source, _meta, date_detection, dynamic_templates, ...
}

func newMapping() *mapping {
	return &mapping{root: &field{typ: "object", props: map[string]*field{}}, meta: map[string]any{}}
}

var knownTypes = map[string]bool{
	"text": true, "keyword": true, "long": true, "integer": true, "short": true, "byte": true,
	"double": true, "float": true, "half_float": true, "scaled_float": true, "unsigned_long": true,
	"boolean": true, "date": true, "date_nanos": true, "object": true, "nested": true, "flattened": true,
	"ip": true, "binary": true, "geo_point": true, "geo_shape": true, "match_only_text": true,
	"wildcard": true, "constant_keyword": true, "dense_vector": true, "sparse_vector": true, "alias": true,
	"search_as_you_type": true, "completion": true, "integer_range": true, "long_range": true,
	"float_range": true, "double_range": true, "date_range": true, "ip_range": true, "version": true,
	"histogram": true, "rank_feature": true, "rank_features": true, "token_count": true, "percolator": true,
	"semantic_text": true, "point": true, "shape": true,
}

var rootMetaKeys = map[string]bool{
	"_source": true, "_meta": true, "_routing": true, "date_detection": true, "numeric_detection": true,
	"dynamic_templates": true, "dynamic_date_formats": true, "runtime": true, "enabled": true,
	"_field_names": true, "subobjects": true, "_data_stream_timestamp": true,
}

func mappingErr(format string, args ...any) *esError {
	reason := fmt.Sprintf(format, args...)
	e := badRequest("mapper_parsing_exception", "Failed to parse mapping: %s", reason)
	e.causedBy = illegalArg("%s", reason)
	return e
}

// parseMapping parses a "mappings" object.
func parseMapping(in map[string]any) (*mapping, *esError) {
	m := newMapping()
	if in == nil {
		return m, nil
	}
	if inner, ok := in["_doc"].(map[string]any); ok && len(in) == 1 {
		in = inner
	}
	var bad []string
	for _, k := range sortedKeys(in) {
		v := in[k]
		switch {
		case k == "properties":
			pm, ok := v.(map[string]any)
			if !ok {
				return nil, mappingErr("Expected map for property [properties] on field [_doc] but got a %T", v)
			}
			props, err := parseProps(pm, "")
			if err != nil {
				return nil, err
			}
			m.root.props = props
		case k == "dynamic":
			d, err := parseDynamic(v)
			if err != nil {
				return nil, err
			}
			m.root.dynamic = d
		case rootMetaKeys[k]:
			m.meta[k] = v
		default:
			bad = append(bad, fmt.Sprintf("%s : %v", k, v))
		}
	}
	if len(bad) > 0 {
		return nil, mappingErr("Root mapping definition has unsupported parameters:  [%s]", strings.Join(bad, "] ["))
	}
	return m, nil
}

func parseDynamic(v any) (string, *esError) {
	s := strings.ToLower(fmt.Sprint(v))
	switch s {
	case "true", "false", "strict", "runtime":
		return s, nil
	}
	return "", mappingErr("No enum constant for [dynamic] with value [%v]", v)
}

// parseProps parses a "properties" object. Dotted names become objects.
func parseProps(in map[string]any, parent string) (map[string]*field, *esError) {
	out := map[string]*field{}
	for _, name := range sortedKeys(in) {
		if strings.TrimSpace(name) == "" || strings.Contains(name, "..") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			if name == "" {
				return nil, mappingErr("field name cannot be an empty string")
			}
			return nil, mappingErr("field name cannot contain only whitespace or dots: ['%s']", name)
		}
		spec, ok := in[name].(map[string]any)
		if !ok {
			return nil, mappingErr("Expected map for property [fields] on field [%s] but got a class %T", name, in[name])
		}
		segs := strings.Split(name, ".")
		f, err := parseField(spec, parent+name)
		if err != nil {
			return nil, err
		}
		for i := len(segs) - 1; i > 0; i-- {
			f = &field{typ: "object", props: map[string]*field{segs[i]: f}}
		}
		if prev, ok := out[segs[0]]; ok && prev.props != nil && f.props != nil {
			for k, v := range f.props {
				prev.props[k] = v
			}
			continue
		}
		out[segs[0]] = f
	}
	return out, nil
}

func parseField(spec map[string]any, path string) (*field, *esError) {
	f := &field{params: map[string]any{}}
	if t, ok := spec["type"]; ok {
		ts, _ := t.(string)
		if !knownTypes[ts] {
			return nil, mappingErr("No handler for type [%v] declared on field [%s]", t, path)
		}
		f.typ = ts
	} else {
		f.typ = "object"
	}
	for _, k := range sortedKeys(spec) {
		v := spec[k]
		switch k {
		case "type":
		case "properties":
			if f.typ != "object" && f.typ != "nested" {
				return nil, mappingErr("unknown parameter [properties] on mapper [%s] of type [%s]", path, f.typ)
			}
			pm, _ := v.(map[string]any)
			props, err := parseProps(pm, path+".")
			if err != nil {
				return nil, err
			}
			f.props = props
		case "fields":
			fm, _ := v.(map[string]any)
			sub, err := parseProps(fm, path+".")
			if err != nil {
				return nil, err
			}
			f.fields = sub
		case "dynamic":
			d, err := parseDynamic(v)
			if err != nil {
				return nil, err
			}
			f.dynamic = d
		default:
			f.params[k] = v
		}
	}
	if (f.typ == "object" || f.typ == "nested") && f.props == nil {
		f.props = map[string]*field{}
	}
	return f, nil
}

// view renders the mapping as GET _mapping shows it.
func (m *mapping) view() map[string]any {
	out := map[string]any{}
	for k, v := range m.meta {
		out[k] = v
	}
	if m.root.dynamic != "" {
		out["dynamic"] = m.root.dynamic
	}
	if len(m.root.props) > 0 {
		out["properties"] = propsView(m.root.props)
	}
	return out
}

func propsView(props map[string]*field) map[string]any {
	out := map[string]any{}
	for name, f := range props {
		out[name] = f.view()
	}
	return out
}

func (f *field) view() map[string]any {
	out := map[string]any{}
	for k, v := range f.params {
		out[k] = v
	}
	if f.typ != "object" {
		out["type"] = f.typ
	}
	if f.dynamic != "" {
		out["dynamic"] = f.dynamic
	}
	if f.props != nil && (f.typ == "object" || f.typ == "nested") {
		if len(f.props) > 0 || f.typ == "object" {
			out["properties"] = propsView(f.props)
		}
	}
	if len(f.fields) > 0 {
		out["fields"] = propsView(f.fields)
	}
	return out
}

func (f *field) clone() *field {
	c := &field{typ: f.typ, dynamic: f.dynamic, params: f.params}
	if f.props != nil {
		c.props = make(map[string]*field, len(f.props))
		for k, v := range f.props {
			c.props[k] = v.clone()
		}
	}
	if f.fields != nil {
		c.fields = make(map[string]*field, len(f.fields))
		for k, v := range f.fields {
			c.fields[k] = v.clone()
		}
	}
	return c
}

func (m *mapping) clone() *mapping {
	meta := make(map[string]any, len(m.meta))
	for k, v := range m.meta {
		meta[k] = v
	}
	return &mapping{root: m.root.clone(), meta: meta}
}

// merge returns m with upd's fields added. Changing a field's type is an
// error.
func (m *mapping) merge(upd *mapping) (*mapping, *esError) {
	out := m.clone()
	for k, v := range upd.meta {
		out.meta[k] = v
	}
	if upd.root.dynamic != "" {
		out.root.dynamic = upd.root.dynamic
	}
	if err := mergeProps(out.root.props, upd.root.props, ""); err != nil {
		return nil, err
	}
	return out, nil
}

func mergeProps(dst, src map[string]*field, prefix string) *esError {
	for name, nf := range src {
		of, ok := dst[name]
		if !ok {
			dst[name] = nf.clone()
			continue
		}
		if of.typ != nf.typ {
			return illegalArg("mapper [%s%s] cannot be changed from type [%s] to [%s]", prefix, name, of.typ, nf.typ)
		}
		if nf.dynamic != "" {
			of.dynamic = nf.dynamic
		}
		for k, v := range nf.params {
			of.params[k] = v
		}
		if nf.props != nil {
			if of.props == nil {
				of.props = map[string]*field{}
			}
			if err := mergeProps(of.props, nf.props, prefix+name+"."); err != nil {
				return err
			}
		}
		if nf.fields != nil {
			if of.fields == nil {
				of.fields = map[string]*field{}
			}
			if err := mergeProps(of.fields, nf.fields, prefix+name+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// FieldType returns the mapped type of a dotted field path, multi-fields
// included ("name.keyword"). Objects report "object" (or "nested").
func (m *mapping) FieldType(path string) (string, bool) {
	cur := m.root
	for _, seg := range strings.Split(path, ".") {
		if f, ok := cur.props[seg]; ok {
			cur = f
			continue
		}
		if f, ok := cur.fields[seg]; ok {
			cur = f
			continue
		}
		return "", false
	}
	return cur.typ, true
}

// Fields lists every mapped leaf path, sorted; used for tests and debugging.
func (m *mapping) Fields() []string {
	var out []string
	var walk func(prefix string, props map[string]*field)
	walk = func(prefix string, props map[string]*field) {
		for name, f := range props {
			p := prefix + name
			if f.props != nil {
				walk(p+".", f.props)
				continue
			}
			out = append(out, p)
			for sub := range f.fields {
				out = append(out, p+"."+sub)
			}
		}
	}
	walk("", m.root.props)
	sort.Strings(out)
	return out
}
