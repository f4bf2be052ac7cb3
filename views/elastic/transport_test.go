package elastic_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

const (
	secretPassword = "s3cret-pa55"
	secretAPIKey   = "c2VjcmV0LWlkOnNlY3JldC1rZXk="
)

// authServer serves estest behind a check of the Authorization header:
// requests without want get ES's 401.
func authServer(t *testing.T, want string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var seen atomic.Int64
	es := estest.New(estest.Options{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user"},"status":401}`)
			return
		}
		seen.Add(1)
		es.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, &seen
}

func TestAuthentication(t *testing.T) {
	ctx := context.Background()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("view-writer:"+secretPassword))
	t.Run("basic auth reaches the server", func(t *testing.T) {
		ts, seen := authServer(t, basic)
		cfg := fastRetries(ts.URL)
		cfg.Username, cfg.Password = "view-writer", secretPassword
		s := open(t, cfg)
		createIndex(t, s, "v")
		wantOutcome(t, "write", bulk(t, s, put("v", "a", 1, `{}`))[0], views.Applied, 201)
		if seen.Load() < 2 { // create and bulk
			t.Errorf("%d authenticated requests", seen.Load())
		}
	})
	t.Run("API key reaches the server", func(t *testing.T) {
		ts, _ := authServer(t, "APIKey "+secretAPIKey)
		cfg := fastRetries(ts.URL)
		cfg.APIKey = secretAPIKey
		s := open(t, cfg)
		if _, err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("a wrong password is a plain error without secrets", func(t *testing.T) {
		ts, _ := authServer(t, basic)
		var logs strings.Builder
		cfg := fastRetries(ts.URL)
		cfg.Username, cfg.Password = "view-writer", "wrong-"+secretPassword
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		s := open(t, cfg)
		_, err := s.Bulk(ctx, []views.Op{put("v", "a", 1, `{}`)})
		var e *elastic.Error
		if err == nil || views.IsRetryable(err) || !errors.As(err, &e) || e.Status != 401 || e.Type != "security_exception" {
			t.Fatalf("Bulk error %v: want a plain 401 security_exception", err)
		}
		_, perr := s.Ping(ctx)
		for _, text := range []string{err.Error(), perr.Error(), logs.String(), cfg.String()} {
			if strings.Contains(text, secretPassword) {
				t.Errorf("secret in %q", text)
			}
		}
	})
}

func TestConfigRedactsSecrets(t *testing.T) {
	cfg := elastic.Config{URLs: []string{"https://es:9200"}, Username: "u", Password: secretPassword, APIKey: secretAPIKey}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg)
	err := cfg.Validate()
	for _, text := range []string{cfg.String(), logs.String(), err.Error()} {
		if strings.Contains(text, secretPassword) || strings.Contains(text, secretAPIKey) {
			t.Errorf("secret in %q", text)
		}
	}
	bad := elastic.Config{URLs: []string{"https://u:" + secretPassword + "@es:9200"}}
	if err := bad.Validate(); err == nil || strings.Contains(err.Error(), secretPassword) {
		t.Errorf("Validate of a URL with credentials: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() elastic.Config { return elastic.Config{URLs: []string{"http://localhost:9200"}} }
	cases := []struct {
		name   string
		break_ func(*elastic.Config)
	}{
		{"no URLs", func(c *elastic.Config) { c.URLs = nil }},
		{"bad scheme", func(c *elastic.Config) { c.URLs = []string{"ftp://x"} }},
		{"no host", func(c *elastic.Config) { c.URLs = []string{"http://"} }},
		{"username without password", func(c *elastic.Config) { c.Username = "u" }},
		{"API key and username", func(c *elastic.Config) { c.Username, c.Password, c.APIKey = "u", "p", "k" }},
		{"CA cert and file", func(c *elastic.Config) { c.CACert, c.CAFile = []byte("x"), "f" }},
		{"backoff min over max", func(c *elastic.Config) { c.RetryBackoffMin, c.RetryBackoffMax = 2, 1 }},
		{"TLS on a foreign transport", func(c *elastic.Config) { c.InsecureSkipVerify, c.Transport = true, roundTripFunc(nil) }},
	}
	if c := valid(); c.Validate() != nil {
		t.Fatalf("valid config: %v", c.Validate())
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.break_(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate: nil error")
			}
			if _, err := elastic.New(c); err == nil {
				t.Error("New: nil error")
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCompression(t *testing.T) {
	es := estest.New(estest.Options{})
	var gzipped atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") == "gzip" {
			gzipped.Add(1)
		}
		es.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	cfg := fastRetries(ts.URL)
	cfg.CompressRequestBody = true
	s := open(t, cfg)
	createIndex(t, s, "v")
	wantOutcome(t, "gzipped write", bulk(t, s, put("v", "a", 1, `{"name":"Ann"}`))[0], views.Applied, 201)
	if d, err := s.Get(context.Background(), "v", "a"); err != nil || string(d.Source) != `{"name":"Ann"}` {
		t.Errorf("Get = %+v, %v", d, err)
	}
	if gzipped.Load() < 2 {
		t.Errorf("%d gzipped requests, want the create and the bulk", gzipped.Load())
	}
}

func TestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(estest.New(estest.Options{}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Run("a CA file verifies the server", func(t *testing.T) {
		cfg := fastRetries(ts.URL)
		cfg.CAFile = caFile
		s := open(t, cfg)
		if v, err := s.Ping(ctx); err != nil || !strings.HasPrefix(v, "8.") {
			t.Fatalf("Ping = %q, %v", v, err)
		}
		createIndex(t, s, "v")
		wantOutcome(t, "write over TLS", bulk(t, s, put("v", "a", 1, `{}`))[0], views.Applied, 201)
	})
	t.Run("CA bytes work too", func(t *testing.T) {
		cfg := fastRetries(ts.URL)
		cfg.CACert = pemBytes
		if _, err := open(t, cfg).Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("without the CA the server is refused", func(t *testing.T) {
		cfg := fastRetries(ts.URL)
		cfg.MaxRetries = -1
		_, err := open(t, cfg).Ping(ctx)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Ping error %v: want a certificate error", err)
		}
	})
	t.Run("a missing CA file fails New", func(t *testing.T) {
		cfg := fastRetries(ts.URL)
		cfg.CAFile = filepath.Join(t.TempDir(), "none.pem")
		if _, err := elastic.New(cfg); err == nil {
			t.Fatal("New: nil error")
		}
	})
}

func TestPing(t *testing.T) {
	ctx := context.Background()
	t.Run("reports the version", func(t *testing.T) {
		s, _ := newStore(t, estest.Options{})
		if v, err := s.Ping(ctx); err != nil || !strings.HasPrefix(v, "8.") {
			t.Fatalf("Ping = %q, %v", v, err)
		}
	})
	t.Run("fails without the product header", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		srv.Faults().SetMissingProductHeader(true)
		_, err := s.Ping(ctx)
		if err == nil || views.IsRetryable(err) || !strings.Contains(err.Error(), "not Elasticsearch") {
			t.Fatalf("Ping error %v: want a not-Elasticsearch error", err)
		}
	})
	t.Run("fails even after the client's own check passed", func(t *testing.T) {
		s, srv := newStore(t, estest.Options{})
		if _, err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		srv.Faults().SetMissingProductHeader(true)
		if _, err := s.Ping(ctx); err == nil {
			t.Fatal("Ping: nil error without the header")
		}
	})
}
