package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/profile"
)

func referenceCatalog() catalog {
	return newCatalog([]processors.Definition{invoice.New(), profile.New()})
}

var decodeNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestDecodeCommand(t *testing.T) {
	cat := referenceCatalog()
	ok := commandRequest{Aggregate: "invoice", ID: "inv-1", Command: "CreateInvoice", ContentType: "application/json",
		Body: []byte(`{"customer": "acme", "currency":"EUR"}`)}
	with := func(f func(*commandRequest)) commandRequest {
		r := ok
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name       string
		req        commandRequest
		wantStatus int
		wantCode   string
	}{
		{"a known command with a JSON object is sent", ok, 0, ""},
		{"an empty body without a content type is a command without data", with(func(r *commandRequest) {
			r.Command, r.Body, r.ContentType = "IssueInvoice", nil, ""
		}), 0, ""},
		{"a charset parameter is fine", with(func(r *commandRequest) { r.ContentType = "application/json; charset=utf-8" }), 0, ""},
		{"an unknown aggregate is 404", with(func(r *commandRequest) { r.Aggregate = "order" }), http.StatusNotFound, "unknown_aggregate"},
		{"an unknown command is 404", with(func(r *commandRequest) { r.Command = "Frobnicate" }), http.StatusNotFound, "unknown_command"},
		{"an id with a space is 400", with(func(r *commandRequest) { r.ID = "inv 1" }), http.StatusBadRequest, "invalid_id"},
		{"an id of 129 characters is 400", with(func(r *commandRequest) { r.ID = strings.Repeat("a", 129) }), http.StatusBadRequest, "invalid_id"},
		{"an id of 128 characters is fine", with(func(r *commandRequest) { r.ID = strings.Repeat("a", 128) }), 0, ""},
		{"a bad idempotency key is 400", with(func(r *commandRequest) { r.IdempotencyKey = "k/1" }), http.StatusBadRequest, "invalid_idempotency_key"},
		{"a non-integer If-Match is 400", with(func(r *commandRequest) { r.IfMatch = `"abc"` }), http.StatusBadRequest, "invalid_if_match"},
		{"a negative If-Match is 400", with(func(r *commandRequest) { r.IfMatch = "-1" }), http.StatusBadRequest, "invalid_if_match"},
		{"a weak If-Match is 400", with(func(r *commandRequest) { r.IfMatch = `W/"1"` }), http.StatusBadRequest, "invalid_if_match"},
		{"text/plain is 415", with(func(r *commandRequest) { r.ContentType = "text/plain" }), http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"a body without a content type is 415", with(func(r *commandRequest) { r.ContentType = "" }), http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"malformed JSON is 400", with(func(r *commandRequest) { r.Body = []byte(`{"customer":`) }), http.StatusBadRequest, "malformed_json"},
		{"a JSON array is 400", with(func(r *commandRequest) { r.Body = []byte(`[1,2]`) }), http.StatusBadRequest, "malformed_json"},
		{"unknown fields are the processor's business", with(func(r *commandRequest) { r.Body = []byte(`{"colour":"red"}`) }), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, e := cat.decodeCommand(tc.req, decodeNow)
			if tc.wantStatus == 0 {
				if e != nil {
					t.Fatalf("refused: %v (%d)", e, e.Status)
				}
				if err := cmd.Validate(); err != nil {
					t.Fatalf("the command does not validate: %v", err)
				}
				return
			}
			if e == nil {
				t.Fatalf("accepted %+v, want %d %s", cmd, tc.wantStatus, tc.wantCode)
			}
			if e.Status != tc.wantStatus || e.Code != tc.wantCode || e.Message == "" {
				t.Fatalf("got %d %s %q, want %d %s", e.Status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
			}
		})
	}
	t.Run("headers become the id and the expected version", func(t *testing.T) {
		cmd, e := cat.decodeCommand(with(func(r *commandRequest) { r.IdempotencyKey, r.IfMatch = "k-1", `"7"` }), decodeNow)
		if e != nil {
			t.Fatal(e)
		}
		if cmd.ID != "k-1" || cmd.ExpectedVersion == nil || *cmd.ExpectedVersion != 7 || !cmd.IssuedAt.Equal(decodeNow) {
			t.Fatalf("command %+v", cmd)
		}
		if string(cmd.Data) != `{"customer":"acme","currency":"EUR"}` {
			t.Fatalf("data %s, want it compacted", cmd.Data)
		}
	})
	t.Run("without a key the id is a new UUIDv7", func(t *testing.T) {
		a, _ := cat.decodeCommand(ok, decodeNow)
		b, _ := cat.decodeCommand(ok, decodeNow)
		if len(a.ID) != 36 || a.ID[14] != '7' || a.ID == b.ID {
			t.Fatalf("ids %q and %q", a.ID, b.ID)
		}
	})
}

// FuzzDecodeCommand checks that any request is either refused with a 4xx
// and a code, or becomes a command that validates, carries what the
// request said, and survives the wire codec.
func FuzzDecodeCommand(f *testing.F) {
	cat := referenceCatalog()
	f.Add("invoice", "inv-1", "CreateInvoice", "", "", "application/json", []byte(`{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`))
	f.Add("invoice", "inv-1", "IssueInvoice", "k1", `"3"`, "", []byte(nil))
	f.Add("profile", "u-1", "SetUsername", "key:2", "0", "application/json; charset=utf-8", []byte(` {"username" : "ada"} `))
	f.Add("invoice", "inv 1", "AddLineItem", "", "", "application/json", []byte(`{"line_id":"l1"`))
	f.Add("invoice", "inv-1", "AddLineItem", "", "x", "text/plain", []byte(`null`))
	f.Add("invoice", "inv-1", "CancelInvoice", "", "", "application/json", []byte("\"\xff\""))
	f.Add("order", "", "", "", "", "", []byte(`[]`))
	f.Fuzz(func(t *testing.T, agg, id, command, key, ifMatch, contentType string, body []byte) {
		req := commandRequest{Aggregate: agg, ID: id, Command: command, IdempotencyKey: key, IfMatch: ifMatch, ContentType: contentType, Body: body}
		cmd, e := cat.decodeCommand(req, decodeNow)
		if e != nil {
			if e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == "" {
				t.Fatalf("refusal %d %q %q: want a 4xx with a code and a message", e.Status, e.Code, e.Message)
			}
			return
		}
		if cmd.Aggregate != agg || cmd.AggregateID != id || cmd.Type != command {
			t.Fatalf("command %+v does not carry the route %s/%s/%s", cmd, agg, id, command)
		}
		if key != "" && cmd.ID != key {
			t.Fatalf("id %q, want the idempotency key %q", cmd.ID, key)
		}
		if (ifMatch != "") != (cmd.ExpectedVersion != nil) {
			t.Fatalf("If-Match %q gave expected version %v", ifMatch, cmd.ExpectedVersion)
		}
		if len(bytes.TrimSpace(body)) == 0 && cmd.Data != nil {
			t.Fatalf("empty body gave data %q", cmd.Data)
		}
		if len(cmd.Data) > 0 && !json.Valid(cmd.Data) {
			t.Fatalf("data %q is not JSON", cmd.Data)
		}
		b, err := codecs.CommandCodec{}.Encode(cmd)
		if err != nil {
			t.Fatalf("encode %+v: %v", cmd, err)
		}
		back := codecs.CommandCodec{}.DecodeCommand(b)
		if back.Err != nil || back.ID != cmd.ID || back.AggregateID != id || back.Type != command || !bytes.Equal(back.Data, cmd.Data) {
			t.Fatalf("round trip: %+v (err %v), sent %+v", back, back.Err, cmd)
		}
	})
}

func TestParseVersionTag(t *testing.T) {
	for in, want := range map[string]int64{`"5"`: 5, `5`: 5, ` "0" `: 0, `"18446744073709551615"`: -2,
		`""`: -1, `"a"`: -1, `W/"5"`: -1, `+5`: -1, `"5`: -1, `*`: -1, `"-1"`: -1, `"18446744073709551616"`: -1} {
		v, ok := parseVersionTag(in)
		switch {
		case want == -1 && ok:
			t.Errorf("parseVersionTag(%s) = %d, want refused", in, v)
		case want == -2 && (!ok || v != 1<<64-1):
			t.Errorf("parseVersionTag(%s) = %d, %v, want the largest version", in, v, ok)
		case want >= 0 && (!ok || v != uint64(want)):
			t.Errorf("parseVersionTag(%s) = %d, %v, want %d", in, v, ok, want)
		}
	}
	if got := versionTag(12); got != `"12"` {
		t.Errorf("versionTag(12) = %s", got)
	}
}
