package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ESWithRoot returns a URL for the Elasticsearch at target that answers
// GET / (the info request clients such as views/elastic send to check
// that the server is Elasticsearch 8) even when target does not.
//
// The integration-test distribution realstack runs lacks the rest-root
// module, so its GET / is "405 Incorrect HTTP method ... allowed: [DELETE]";
// every Elasticsearch a user installs has the module. When target answers
// GET / itself, the URL is target unchanged. Otherwise it is a proxy,
// closed at cleanup, that builds the info answer from GET /_nodes/_local
// (the same node name, cluster and version) and forwards every other
// request untouched.
func ESWithRoot(t testing.TB, target string) string {
	t.Helper()
	target = strings.TrimRight(target, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("elasticsearch %s: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		return target
	}
	info, err := nodeInfo(ctx, target)
	if err != nil {
		t.Fatalf("elasticsearch %s answers GET / with 405 and: %v", target, err)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/" {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(info)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// nodeInfo builds the body of GET / from GET /_nodes/_local.
func nodeInfo(ctx context.Context, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/_nodes/_local", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var nodes struct {
		ClusterName string `json:"cluster_name"`
		Nodes       map[string]struct {
			Name        string `json:"name"`
			Version     string `json:"version"`
			BuildFlavor string `json:"build_flavor"`
			BuildType   string `json:"build_type"`
			BuildHash   string `json:"build_hash"`
		} `json:"nodes"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /_nodes/_local: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&nodes); err != nil {
		return nil, fmt.Errorf("GET /_nodes/_local: %w", err)
	}
	for _, n := range nodes.Nodes {
		return json.Marshal(map[string]any{
			"name":         n.Name,
			"cluster_name": nodes.ClusterName,
			"version": map[string]any{
				"number": n.Version, "build_flavor": n.BuildFlavor, "build_type": n.BuildType, "build_hash": n.BuildHash,
			},
			"tagline": "You Know, for Search",
		})
	}
	return nil, fmt.Errorf("GET /_nodes/_local: no node")
}
