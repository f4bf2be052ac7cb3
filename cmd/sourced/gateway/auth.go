package gateway

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Scope is what a token may do.
type Scope uint8

const (
	// ScopeRead may GET.
	ScopeRead Scope = iota + 1
	// ScopeWrite may GET and POST commands.
	ScopeWrite
	// ScopeAdmin may do what ScopeWrite may, and use the routes under
	// /v1/admin/, which cost the whole cluster (a view rebuild replays
	// every record of its source).
	ScopeAdmin
)

// Tokens is a set of bearer tokens with their scopes. Tokens are kept as
// SHA-256 digests and compared in constant time against every entry, so
// neither the comparison nor the lookup tells how much of a guess was
// right. The zero value holds no token. Safe for concurrent reads.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	scope  Scope
}

// ParseTokens reads a tokens file: one "<token> <scope>" per line, scope
// "read", "write" or "admin" (admin implies write, write implies read); blank lines and lines starting with # are skipped.
// Errors name the line, never the token.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("tokens line %d: want \"<token> read|write|admin\"", n)
		}
		var scope Scope
		switch fields[1] {
		case "read":
			scope = ScopeRead
		case "write":
			scope = ScopeWrite
		case "admin":
			scope = ScopeAdmin
		default:
			return nil, fmt.Errorf("tokens line %d: scope %q: want read, write or admin", n, fields[1])
		}
		if len(fields[0]) < 16 {
			return nil, fmt.Errorf("tokens line %d: token shorter than 16 characters", n)
		}
		t.entries = append(t.entries, tokenEntry{digest: sha256.Sum256([]byte(fields[0])), scope: scope})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	if len(t.entries) == 0 {
		return nil, errors.New("tokens: the file holds no token")
	}
	return t, nil
}

// Len returns the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// scope returns the scope of token, 0 when it is not known.
func (t *Tokens) scope(token string) Scope {
	d := sha256.Sum256([]byte(token))
	var found Scope
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			found = e.scope // no early exit
		}
	}
	return found
}

// authorize checks the bearer token when tokens are configured: 401
// without a known token, 403 for a token below admin on /v1/admin/ and
// for a read token on anything but GET/HEAD.
func (g *Gateway) authorize(r *http.Request) *apiError {
	if g.cfg.Tokens == nil {
		return nil
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errorf(http.StatusUnauthorized, "unauthorized", "missing bearer token (Authorization: Bearer <token>)")
	}
	scope := g.cfg.Tokens.scope(strings.TrimSpace(token))
	switch {
	case scope == 0:
		return errorf(http.StatusUnauthorized, "unauthorized", "unknown bearer token")
	case scope < ScopeAdmin && strings.HasPrefix(r.URL.Path, "/v1/admin/"):
		return errorf(http.StatusForbidden, "forbidden", "the admin routes need an admin token")
	case scope == ScopeRead && r.Method != http.MethodGet && r.Method != http.MethodHead:
		return errorf(http.StatusForbidden, "forbidden", "a read token may only GET")
	}
	return nil
}
