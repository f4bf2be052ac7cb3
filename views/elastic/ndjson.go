package elastic

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/b2dc4357/sourced/views"
)

// maxIDBytes is Elasticsearch's limit on document ids.
const maxIDBytes = 512

// appendOp appends the operation's _bulk lines to b: the action line
// (written by hand, with the external version) and, for an index, the
// document. requireAlias makes Elasticsearch fail the item rather than
// create an index when the alias is gone. When the operation cannot be
// sent it reports false and fills r instead.
func appendOp(b []byte, op *views.Op, requireAlias bool, r *views.ItemResult) ([]byte, bool) {
	var ok bool
	if *r, ok = checkOp(op); !ok {
		return b, false
	}
	if op.Delete {
		b = append(b, `{"delete":{"_index":`...)
	} else {
		b = append(b, `{"index":{"_index":`...)
	}
	b = appendString(b, op.Index)
	b = append(b, `,"_id":`...)
	b = appendString(b, op.ID)
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, op.Version, 10)
	b = append(b, `,"version_type":"external"`...)
	if requireAlias {
		b = append(b, `,"require_alias":true`...)
	}
	b = append(b, "}}\n"...)
	if op.Delete {
		return b, true
	}
	b = append(b, op.Doc...)
	return append(b, '\n'), true
}

func refuse(typ, reason string) views.ItemResult {
	return views.ItemResult{Outcome: views.Refused, Status: http.StatusBadRequest, Type: typ, Reason: reason}
}

const hexDigits = "0123456789abcdef"

// appendString appends s to b as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// checkOp reports whether the operation can be sent, and if not, its
// result.
func checkOp(op *views.Op) (views.ItemResult, bool) {
	if err := checkName(op.Index); err != nil {
		return views.ItemResult{Outcome: views.Fatal, Status: http.StatusBadRequest, Type: "invalid_index_name_exception", Reason: err.Error()}, false
	}
	switch {
	case op.ID == "":
		return refuse("action_request_validation_exception", "empty document id"), false
	case len(op.ID) > maxIDBytes:
		return refuse("action_request_validation_exception", fmt.Sprintf("id is too long, must be no longer than %d bytes but was: %d", maxIDBytes, len(op.ID))), false
	case op.Version > math.MaxInt64:
		return refuse("action_request_validation_exception", fmt.Sprintf("illegal version value [%d] for version type [EXTERNAL]", op.Version)), false
	case !op.Delete && len(bytes.TrimSpace(op.Doc)) == 0:
		return refuse("document_parsing_exception", "index operation without a document"), false
	}
	return views.ItemResult{}, true
}
