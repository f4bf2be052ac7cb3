package estest

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errNeedMapping stops a check-only pass that found a field to add
// dynamically; the caller retries on a copy of the mapping.
var errNeedMapping = errors.New("estest: dynamic mapping update needed")

// docParser checks one document against a mapping, in document order, and
// (when allowAdd is set) adds dynamic fields to that mapping.
type docParser struct {
	raw      []byte
	id       string
	m        *mapping
	allowAdd bool
}

// parseDocument checks raw against ix's mapping. It returns the decoded
// source and, when the document introduced fields, the new mapping to
// install once the write succeeds (nil when unchanged).
func (ix *index) parseDocument(id string, raw []byte) (map[string]any, *mapping, *esError) {
	tree, err := parseTree(raw)
	if err != nil {
		var te *treeError
		off := 0
		if errors.As(err, &te) {
			off = te.off
		}
		e := badRequest("document_parsing_exception", "[%s] failed to parse", pos(raw, off))
		e.causedBy = badRequest("x_content_parse_exception", "[%s] %s", pos(raw, off), err.Error())
		return nil, nil, e
	}
	if tree.kind != 'o' {
		e := badRequest("document_parsing_exception", "[%s] failed to parse", pos(raw, tree.start))
		e.causedBy = badRequest("x_content_parse_exception", "[%s] Expected START_OBJECT but was: %s", pos(raw, tree.start), tree.tokenName())
		return nil, nil, e
	}
	p := &docParser{raw: raw, id: id, m: ix.mapping}
	var newMapping *mapping
	if err := p.object(tree, p.m.root, "", "true"); err != nil {
		if err != errNeedMapping {
			return nil, nil, err.(*esError)
		}
		newMapping = ix.mapping.clone()
		p = &docParser{raw: raw, id: id, m: newMapping, allowAdd: true}
		if err := p.object(tree, p.m.root, "", "true"); err != nil {
			return nil, nil, err.(*esError)
		}
	}
	src, derr := decodeObject(raw)
	if derr != nil {
		return nil, nil, derr
	}
	return src, newMapping, nil
}

func (p *docParser) fail(n *jnode, format string, args ...any) *esError {
	args = append([]any{pos(p.raw, n.start)}, args...)
	return badRequest("document_parsing_exception", "[%s] "+format, args...)
}

// object checks the members of obj against the object mapping f, whose
// full path is path ("" for the root) and inherited dynamic setting dyn.
func (p *docParser) object(obj *jnode, f *field, path, dyn string) error {
	if f.dynamic != "" {
		dyn = f.dynamic
	}
	for i, key := range obj.keys {
		val := obj.vals[i]
		if strings.TrimSpace(key) == "" {
			return p.fail(val, "field name cannot be an empty string")
		}
		segs := strings.Split(key, ".")
		parent, parentPath, parentDyn := f, path, dyn
		for _, seg := range segs[:len(segs)-1] {
			if seg == "" {
				return p.fail(val, "field name cannot contain only whitespace or dots: ['%s']", key)
			}
			child, ok := parent.props[seg]
			full := join(parentPath, seg)
			if !ok {
				switch parentDyn {
				case "strict":
					return p.strict(val, seg, parentPath)
				case "false":
					child = nil
				default:
					if !p.allowAdd {
						return errNeedMapping
					}
					child = &field{typ: "object", props: map[string]*field{}}
					parent.props[seg] = child
				}
			}
			if child == nil {
				parent = nil
				break
			}
			if child.props == nil {
				return p.fail(val, "Could not dynamically add mapping for field [%s]. Existing mapping for [%s] must be of type object but found [%s].", join(parentPath, key), full, child.typ)
			}
			parent, parentPath = child, full
			if child.dynamic != "" {
				parentDyn = child.dynamic
			}
		}
		if parent == nil {
			continue // under dynamic:false, unmapped: kept in _source only
		}
		if err := p.value(val, parent, segs[len(segs)-1], parentPath, parentDyn); err != nil {
			return err
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (p *docParser) strict(val *jnode, name, parentPath string) *esError {
	within := parentPath
	if within == "" {
		within = "_doc"
	}
	return badRequest("strict_dynamic_mapping_exception", "[%s] mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", pos(p.raw, val.start), name, within)
}

// value checks one member value named name under the object parent.
func (p *docParser) value(val *jnode, parent *field, name, parentPath, dyn string) error {
	if val.kind == 'z' {
		return nil
	}
	full := join(parentPath, name)
	f, ok := parent.props[name]
	if !ok {
		switch dyn {
		case "strict":
			return p.strict(val, name, parentPath)
		case "false":
			return nil
		}
		nf := p.dynamicField(val)
		if nf == nil {
			return nil // empty array or nulls: nothing to map yet
		}
		if !p.allowAdd {
			return errNeedMapping
		}
		parent.props[name] = nf
		f = nf
	}
	return p.check(val, f, full, dyn)
}

// check validates val against the field f at path full.
func (p *docParser) check(val *jnode, f *field, full, dyn string) error {
	if val.kind == 'z' {
		return nil
	}
	if val.kind == 'a' {
		for _, el := range val.vals {
			if err := p.check(el, f, full, dyn); err != nil {
				return err
			}
		}
		return nil
	}
	if f.props != nil && f.typ != "flattened" {
		if val.kind != 'o' {
			return p.fail(val, "object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", full, full)
		}
		return p.object(val, f, full, dyn)
	}
	if f.typ == "flattened" || f.typ == "geo_point" || f.typ == "geo_shape" || strings.HasSuffix(f.typ, "_range") ||
		f.typ == "dense_vector" || f.typ == "sparse_vector" || f.typ == "rank_features" || f.typ == "histogram" ||
		f.typ == "completion" || f.typ == "percolator" || f.typ == "shape" || f.typ == "point" || f.typ == "semantic_text" {
		return nil
	}
	if ig, _ := f.params["ignore_malformed"].(bool); ig {
		return nil
	}
	if val.kind == 'o' {
		e := p.fail(val, "failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", full, f.typ, p.id, val.preview())
		e.causedBy = newErr(400, "illegal_state_exception", "Can't get text on a START_OBJECT at %s", pos(p.raw, val.start))
		return e
	}
	if cause := checkLeaf(f, val); cause != nil {
		e := p.fail(val, "failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", full, f.typ, p.id, val.preview())
		e.causedBy = cause
		return e
	}
	return nil
}

// dynamicField is the mapping ES's dynamic mapping gives a new value.
func (p *docParser) dynamicField(val *jnode) *field {
	switch val.kind {
	case 'o':
		return &field{typ: "object", props: map[string]*field{}}
	case 'a':
		for _, el := range val.vals {
			if el.kind != 'z' {
				return p.dynamicField(el)
			}
		}
		return nil
	case 'b':
		return &field{typ: "boolean", params: map[string]any{}}
	case 'n':
		if strings.ContainsAny(val.num.String(), ".eE") {
			return &field{typ: "float", params: map[string]any{}}
		}
		return &field{typ: "long", params: map[string]any{}}
	case 's':
		if dd, ok := p.m.meta["date_detection"]; !ok || dd != false {
			if isDynamicDate(val.str) {
				return &field{typ: "date", params: map[string]any{}}
			}
		}
		if nd, _ := p.m.meta["numeric_detection"].(bool); nd {
			if _, err := strconv.ParseInt(val.str, 10, 64); err == nil {
				return &field{typ: "long", params: map[string]any{}}
			}
			if _, err := strconv.ParseFloat(val.str, 64); err == nil {
				return &field{typ: "float", params: map[string]any{}}
			}
		}
		return &field{typ: "text", params: map[string]any{}, fields: map[string]*field{
			"keyword": {typ: "keyword", params: map[string]any{"ignore_above": json.Number("256")}},
		}}
	}
	return nil
}

var intRanges = map[string][2]*big.Int{
	"long":    {big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)},
	"integer": {big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32)},
	"short":   {big.NewInt(math.MinInt16), big.NewInt(math.MaxInt16)},
	"byte":    {big.NewInt(math.MinInt8), big.NewInt(math.MaxInt8)},
}

var rangeNames = map[string]string{"long": "a long", "integer": "an integer", "short": "a short", "byte": "a byte"}

// checkLeaf validates a scalar against a leaf field type. It returns the
// caused_by of the document_parsing_exception, or nil.
func checkLeaf(f *field, v *jnode) *esError {
	switch f.typ {
	case "long", "integer", "short", "byte", "unsigned_long":
		var text string
		switch v.kind {
		case 'n':
			text = v.num.String()
		case 's':
			text = strings.TrimSpace(v.str)
			if text == "" {
				return nil
			}
		default:
			return illegalArg("Current token (%s) not numeric, can not use numeric value accessors", v.tokenName())
		}
		fl, ok := new(big.Float).SetString(text)
		if !ok {
			return illegalArg("For input string: \"%s\"", text)
		}
		n, _ := fl.Int(nil)
		if f.typ == "unsigned_long" {
			if n.Sign() < 0 || n.BitLen() > 64 {
				return illegalArg("Value \"%s\" has a decimal part", text)
			}
			return nil
		}
		r := intRanges[f.typ]
		if n.Cmp(r[0]) < 0 || n.Cmp(r[1]) > 0 {
			return illegalArg("Value [%s] is out of range for %s", text, rangeNames[f.typ])
		}
	case "double", "float", "half_float", "scaled_float":
		switch v.kind {
		case 'n':
		case 's':
			if strings.TrimSpace(v.str) == "" {
				return nil
			}
			if _, err := strconv.ParseFloat(strings.TrimSpace(v.str), 64); err != nil {
				return illegalArg("For input string: \"%s\"", v.str)
			}
		default:
			return illegalArg("Current token (%s) not numeric, can not use numeric value accessors", v.tokenName())
		}
	case "boolean":
		switch {
		case v.kind == 'b':
		case v.kind == 's' && (v.str == "true" || v.str == "false" || v.str == ""):
		default:
			return illegalArg("Failed to parse value [%s] as only [true] or [false] are allowed.", v.preview())
		}
	case "date", "date_nanos":
		format, _ := f.params["format"].(string)
		if format == "" {
			format = "strict_date_optional_time||epoch_millis"
		}
		ok := false
		switch v.kind {
		case 'n':
			ok = true
		case 's':
			_, ok = parseDate(v.str, format)
		}
		if !ok {
			return illegalArg("failed to parse date field [%s] with format [%s]", v.preview(), format)
		}
	case "ip":
		if v.kind != 's' || net.ParseIP(v.str) == nil {
			return illegalArg("'%s' is not an IP string literal.", v.preview())
		}
	}
	return nil
}

var isoDate = regexp.MustCompile(`^[+-]?\d{4,9}-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?$`)

// isDynamicDate is ES's default date_detection: strict_date_optional_time
// or yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z.
func isDynamicDate(s string) bool {
	if _, ok := parseISO(s); ok && strings.Count(s, "-") >= 2 {
		return true
	}
	for _, l := range []string{"2006/01/02 15:04:05", "2006/01/02"} {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}

func parseISO(s string) (time.Time, bool) {
	if !isoDate.MatchString(s) {
		return time.Time{}, false
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999Z07", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
		"2006-01-02T15Z07:00", "2006-01-02T15", "2006-01-02", "2006-01"} {
		if t, err := time.Parse(l, strings.Replace(s, ",", ".", 1)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var javaLayout = strings.NewReplacer("yyyy", "2006", "uuuu", "2006", "MM", "01", "dd", "02", "HH", "15",
	"mm", "04", "ss", "05", "SSS", "000", "'T'", "T", "XXX", "Z07:00", "Z", "Z0700", "'Z'", "Z")

// parseDate parses s with an ES date format ("a||b||c").
func parseDate(s, format string) (time.Time, bool) {
	for _, f := range strings.Split(format, "||") {
		switch f = strings.TrimSpace(f); f {
		case "epoch_millis", "epoch_second":
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				if f == "epoch_second" {
					n *= 1000
				}
				return time.UnixMilli(int64(n)).UTC(), true
			}
		case "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos",
			"strict_date_time", "date_time", "strict_date", "date", "strict_date_time_no_millis", "date_time_no_millis",
			"strict_date_hour_minute_second", "basic_date":
			if t, ok := parseISO(s); ok {
				return t, true
			}
		default:
			if t, err := time.Parse(javaLayout.Replace(f), s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
