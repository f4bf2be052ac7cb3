package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	t.Run("lines give tokens with scopes; comments and blanks are skipped", func(t *testing.T) {
		tk, err := ParseTokens(strings.NewReader("# ops\n\nreader-token-0123456789 read\n  writer-token-0123456789   write  \nadmin-token-0123456789 admin\n"))
		if err != nil {
			t.Fatal(err)
		}
		if tk.Len() != 3 || tk.scope("reader-token-0123456789") != ScopeRead || tk.scope("writer-token-0123456789") != ScopeWrite ||
			tk.scope("admin-token-0123456789") != ScopeAdmin {
			t.Fatalf("tokens %+v", tk)
		}
		for _, guess := range []string{"", "reader-token-012345678", "reader-token-01234567890", "read"} {
			if s := tk.scope(guess); s != 0 {
				t.Errorf("scope(%q) = %d, want unknown", guess, s)
			}
		}
	})
	for _, tc := range []struct{ name, file, want string }{
		{"an unknown scope", "token-0123456789abcdef root\n", "line 1: scope"},
		{"a token without a scope", "\ntoken-0123456789abcdef\n", "line 2"},
		{"a short token", "short write\n", "shorter than 16"},
		{"an empty file", "# nothing\n", "no token"},
	} {
		t.Run(tc.name+" is refused without showing the token", func(t *testing.T) {
			_, err := ParseTokens(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "token-0123456789abcdef") || strings.Contains(err.Error(), "short") && tc.want != "shorter than 16" {
				t.Fatalf("error %q shows the token", err)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	tk, err := ParseTokens(strings.NewReader("reader-token-0123456789 read\nwriter-token-0123456789 write\nadmin-token-0123456789 admin\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{cfg: Config{Tokens: tk}}
	const rebuild = "/v1/admin/views/invoice-search/rebuild"
	for _, tc := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "", "", 401},
		{"GET", "", "Basic dXNlcjpwYXNz", 401},
		{"GET", "", "Bearer wrong-token-0123456789", 401},
		{"GET", "", "Bearer reader-token-0123456789", 0},
		{"GET", "", "bearer writer-token-0123456789", 0},
		{"GET", "", "Bearer admin-token-0123456789", 0},
		{"POST", "", "Bearer reader-token-0123456789", 403},
		{"POST", "", "Bearer writer-token-0123456789", 0},
		{"POST", "", "Bearer admin-token-0123456789", 0},
		{"POST", rebuild, "Bearer reader-token-0123456789", 403},
		{"POST", rebuild, "Bearer writer-token-0123456789", 403},
		{"POST", rebuild, "Bearer admin-token-0123456789", 0},
		{"POST", rebuild, "", 401},
	} {
		path := tc.path
		if path == "" {
			path = "/v1/invoice/inv-1"
		}
		r := httptest.NewRequest(tc.method, path, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		e := g.authorize(r)
		got := 0
		if e != nil {
			got = e.Status
		}
		if got != tc.want {
			t.Errorf("%s %s with %q: %d (%v), want %d", tc.method, path, tc.auth, got, e, tc.want)
		}
	}
	if e := (&Gateway{}).authorize(httptest.NewRequest(http.MethodPost, "/v1/x", nil)); e != nil {
		t.Errorf("without tokens: %v", e)
	}
}
