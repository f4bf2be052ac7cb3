package elastic_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/viewstest"
)

// TestSecuredElasticsearch runs the store against a real node with
// security on: HTTPS with a certificate the test makes (its own CA), a
// file-realm user, API keys created through the security API (the
// contract suite with one; another invalidated), and a native user. It
// needs the real stack (a dedicated node: the shared one runs without
// security) and skips otherwise.
func TestSecuredElasticsearch(t *testing.T) {
	if stacktest.RealES() == "" {
		t.Skip("needs a real Elasticsearch with security on: run under eval \"$(scripts/realstack up)\" (estest has no security)")
	}
	certs := stacktest.NewCertificates(t, t.TempDir())
	caPEM, err := os.ReadFile(certs.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := certs.CertFile, certs.KeyFile
	const user, password = "sourced", "s3cret-Passw0rd"
	hash, err := stack.PasswordHash(password)
	if err != nil {
		t.Fatal(err)
	}
	es := stacktest.OwnElasticsearch(t, stack.ESOptions{Security: &stack.ESSecurity{
		CertPEM: certPath, KeyPEM: keyPath, UserHashes: map[string]string{user: hash},
	}})
	url := es.URL()
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("secured node URL %s is not HTTPS", url)
	}
	cfg := func(c elastic.Config) elastic.Config {
		c.URLs = []string{url}
		c.RetryBackoffMin, c.RetryBackoffMax = time.Millisecond, 5*time.Millisecond
		return c
	}

	t.Run("basic auth over HTTPS: contract suite", func(t *testing.T) {
		viewstest.Run(t, func(t *testing.T) views.Store {
			return open(t, cfg(elastic.Config{Username: user, Password: password, CACert: caPEM}))
		})
	})

	t.Run("API key over HTTPS: contract suite", func(t *testing.T) {
		key := createAPIKey(t, url, caPEM, user, password, "sourced-contract")
		viewstest.Run(t, func(t *testing.T) views.Store {
			return open(t, cfg(elastic.Config{APIKey: key.Encoded, CACert: caPEM}))
		})
	})

	t.Run("an invalidated API key fails clearly", func(t *testing.T) {
		key := createAPIKey(t, url, caPEM, user, password, "sourced-invalidated")
		s := open(t, cfg(elastic.Config{APIKey: key.Encoded, CACert: caPEM}))
		roundTrip(t, s, "t-apikey-before-invalidation") // a node of its own: fixed names are safe
		securityAPI(t, url, caPEM, user, password, http.MethodDelete, "/_security/api_key", map[string]any{"ids": []string{key.ID}})
		err := s.CreateIndex(t.Context(), "t-invalidated-api-key", testMapping)
		t.Logf("invalidated API key: %v", err)
		if err == nil || views.IsRetryable(err) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("CreateIndex with an invalidated API key: %v, want a 401 that is not retried", err)
		}
		if strings.Contains(err.Error(), key.Encoded) {
			t.Errorf("the error quotes the API key: %v", err)
		}
	})

	t.Run("native user created through the API", func(t *testing.T) {
		const native, nativePassword = "sourced-native", "n4tive-Passw0rd"
		securityAPI(t, url, caPEM, user, password, http.MethodPost, "/_security/user/"+native,
			map[string]any{"password": nativePassword, "roles": []string{"superuser"}})
		s := open(t, cfg(elastic.Config{Username: native, Password: nativePassword, CACert: caPEM}))
		roundTrip(t, s, "t-native-user")
	})

	t.Run("a wrong API key fails clearly", func(t *testing.T) {
		// base64("no-such-id:no-such-key")
		s := open(t, cfg(elastic.Config{APIKey: "bm8tc3VjaC1pZDpuby1zdWNoLWtleQ==", CACert: caPEM}))
		err := s.CreateIndex(t.Context(), "t-wrong-api-key", testMapping)
		t.Logf("wrong API key: %v", err)
		if err == nil || views.IsRetryable(err) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("CreateIndex with an unknown API key: %v, want a 401 that is not retried", err)
		}
	})

	t.Run("wrong password fails clearly", func(t *testing.T) {
		s := open(t, cfg(elastic.Config{Username: user, Password: "not-the-password", CACert: caPEM}))
		err := s.CreateIndex(t.Context(), "t-wrong-password", testMapping)
		if err == nil {
			t.Fatal("CreateIndex with a wrong password succeeded")
		}
		t.Logf("wrong password: %v", err)
		if views.IsRetryable(err) {
			t.Errorf("a rejected password is retryable: %v", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "401") || !strings.Contains(msg, "security_exception") {
			t.Errorf("error %q does not say 401 security_exception", msg)
		}
		if strings.Contains(err.Error(), "not-the-password") {
			t.Errorf("the error quotes the password: %v", err)
		}
	})

	t.Run("no credentials fail", func(t *testing.T) {
		s := open(t, cfg(elastic.Config{CACert: caPEM}))
		err := s.CreateIndex(t.Context(), "t-anonymous", testMapping)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("CreateIndex without credentials: %v, want a 401", err)
		}
	})

	t.Run("an untrusted certificate fails", func(t *testing.T) {
		s := open(t, cfg(elastic.Config{Username: user, Password: password, MaxRetries: -1}))
		err := s.CreateIndex(t.Context(), "t-untrusted", testMapping)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) && (err == nil || !strings.Contains(err.Error(), "certificate")) {
			t.Fatalf("CreateIndex trusting only the system roots: %v, want a certificate error", err)
		}
		t.Logf("untrusted certificate: %v", err)
	})
}

// roundTrip creates an index, writes, reads and searches a document, and
// deletes the index.
func roundTrip(t *testing.T, s *elastic.Store, index string) {
	t.Helper()
	ctx := t.Context()
	createIndex(t, s, index)
	t.Cleanup(func() { _ = s.DeleteIndex(context.Background(), index) })
	res := bulk(t, s, put(index, "1", 3, `{"name":"Ada","code":"a","count":1}`))
	wantOutcome(t, "index through the API key", res[0], views.Applied, http.StatusCreated)
	doc, err := s.Get(ctx, index, "1")
	if err != nil || doc.Version != 3 {
		t.Fatalf("Get: %+v, %v; want version 3", doc, err)
	}
	if err := s.Refresh(ctx, index); err != nil {
		t.Fatal(err)
	}
	found, err := s.Search(ctx, index, views.SearchRequest{Query: "ada"})
	if err != nil || found.Total != 1 {
		t.Fatalf("Search: %+v, %v; want one hit", found, err)
	}
	if err := s.DeleteIndex(ctx, index); err != nil {
		t.Fatal(err)
	}
}

// apiKey is what POST /_security/api_key answers.
type apiKey struct {
	ID string `json:"id"`
	// Encoded is base64(id:api_key), what Config.APIKey takes.
	Encoded string `json:"encoded"`
}

// createAPIKey creates an API key named name for user with the security
// API. The node stores API keys in the .security index, whose analyzers
// come from realstack's sourced-analysis plugin on the integ-test
// distribution.
func createAPIKey(t *testing.T, url string, caPEM []byte, user, password, name string) apiKey {
	t.Helper()
	var key apiKey
	body := securityAPI(t, url, caPEM, user, password, http.MethodPost, "/_security/api_key", map[string]any{"name": name, "expiration": "1h"})
	if err := json.Unmarshal(body, &key); err != nil || key.ID == "" || key.Encoded == "" {
		t.Fatalf("create API key: %s (%v)", body, err)
	}
	t.Logf("API key %s (%s) created", key.ID, name)
	return key
}

// securityAPI sends req as JSON to path with basic auth and returns the
// body of its 200 answer, failing the test on any other.
func securityAPI(t *testing.T, url string, caPEM []byte, user, password, method, path string, req any) []byte {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequestWithContext(t.Context(), method, url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.SetBasicAuth(user, password)
	r.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, body)
	}
	return body
}
