package gateway

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// catalog is what the gateway knows of the aggregates: their names and
// command types.
type catalog map[string]map[string]bool

func newCatalog(defs []processors.Definition) catalog {
	c := catalog{}
	for _, d := range defs {
		cmds := map[string]bool{}
		for _, t := range d.CommandTypes() {
			cmds[t] = true
		}
		c[d.Name()] = cmds
	}
	return c
}

// commandRequest is what a POST /v1/{aggregate}/{id}/{command} carries.
type commandRequest struct {
	Aggregate, ID, Command string
	// Headers.
	IdempotencyKey, IfMatch, ContentType string
	// Body is the JSON data of the command, possibly empty.
	Body []byte
}

// decodeCommand turns a request into the command to send, or the 4xx
// answer for it. It checks the route (known aggregate and command: 404),
// the ids (400), the headers (If-Match must be a version: 400; a body
// needs Content-Type application/json: 415) and the JSON syntax of the
// body (400); whether the data fits the command is for the processor to
// decide (rejected, code malformed or invalid). Size limits are checked
// before, while reading the body. now becomes issued_at.
func (c catalog) decodeCommand(req commandRequest, now time.Time) (*codecs.Command, *apiError) {
	cmds, ok := c[req.Aggregate]
	if !ok {
		return nil, errorf(http.StatusNotFound, "unknown_aggregate", "no aggregate %q", req.Aggregate)
	}
	if !cmds[req.Command] {
		return nil, errorf(http.StatusNotFound, "unknown_command", "aggregate %s has no command %q", req.Aggregate, req.Command)
	}
	if err := codecs.ValidateID(req.ID); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid_id", "aggregate id %q: %v", req.ID, err)
	}
	cmd := &codecs.Command{Aggregate: req.Aggregate, AggregateID: req.ID, Type: req.Command, IssuedAt: now.UTC()}
	if req.IdempotencyKey != "" {
		if err := codecs.ValidateID(req.IdempotencyKey); err != nil {
			return nil, errorf(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key %q: %v", req.IdempotencyKey, err)
		}
		cmd.ID = req.IdempotencyKey
	}
	if req.IfMatch != "" {
		v, ok := parseVersionTag(req.IfMatch)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "invalid_if_match", `If-Match %q: want a version such as "5"`, req.IfMatch)
		}
		cmd.ExpectedVersion = &v
	}
	body := bytes.TrimSpace(req.Body)
	if len(req.Body) > 0 || req.ContentType != "" {
		mt, _, err := mime.ParseMediaType(req.ContentType)
		if err != nil || mt != "application/json" {
			return nil, errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type %q: want application/json", req.ContentType)
		}
	}
	if len(body) > 0 {
		if !json.Valid(body) {
			return nil, errorf(http.StatusBadRequest, "malformed_json", "the body is not valid JSON")
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, body) // valid JSON compacts
		cmd.Data = compact.Bytes()
	}
	if cmd.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "internal", "generate a command id: %v", err)
		}
		cmd.ID = id.String()
	}
	if err := cmd.Validate(); err != nil {
		// Ids were checked above, so this is the data: not an object.
		return nil, errorf(http.StatusBadRequest, "malformed_json", "the body must be a JSON object: %v", err)
	}
	return cmd, nil
}

// parseVersionTag parses an entity tag holding a version: "5" (the strong
// ETag the gateway sends) or a bare 5.
func parseVersionTag(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// versionTag is the strong ETag of a version.
func versionTag(v uint64) string { return `"` + strconv.FormatUint(v, 10) + `"` }
