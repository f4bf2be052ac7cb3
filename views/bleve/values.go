package bleve

import (
	"encoding/json"
	"strconv"
)

// toFloat converts a Go number (any integer or float type, or a
// json.Number) to a float64. Filter and After values come from callers and
// often went through JSON, where every number becomes a float64.
func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case json.Number:
		x, err := v.Float64()
		return x, err == nil
	}
	return 0, false
}

// toNumber converts a number or a numeric string to a float64, as a term
// query on a numeric field accepts both.
func toNumber(v any) (float64, bool) {
	if s, ok := v.(string); ok {
		x, err := strconv.ParseFloat(s, 64)
		return x, err == nil
	}
	return toFloat(v)
}

// toTerm renders a value as the exact term of a keyword field: strings as
// they are, numbers and booleans as their JSON text.
func toTerm(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return v.String(), true
	}
	if x, ok := toFloat(v); ok {
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// toBool reads a boolean filter or After value: a bool, "true"/"false", or
// 1/0 (the form Elasticsearch's boolean doc values take).
func toBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	if x, ok := toFloat(v); ok && (x == 0 || x == 1) {
		return x == 1, true
	}
	return false, false
}
