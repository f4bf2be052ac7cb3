package stack_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
)

// TestFetchReplacesACorruptJar truncates one of Kafka's jars in a copy of
// the cache, as an interrupted download would leave it, and checks that
// Fetch fetches Kafka again with mvn instead of starting a broken server.
func TestFetchReplacesACorruptJar(t *testing.T) {
	t.Parallel()
	a := stacktest.Artifacts(t)
	cache := t.TempDir()
	kafkaDir := filepath.Dir(a.KafkaLibs)
	copyDir(t, kafkaDir, filepath.Join(cache, filepath.Base(kafkaDir)))
	esDir := filepath.Dir(a.ESHome)
	if err := os.Symlink(esDir, filepath.Join(cache, filepath.Base(esDir))); err != nil {
		t.Fatal(err)
	}
	jar := filepath.Join(cache, filepath.Base(kafkaDir), "libs", "kafka-clients-"+stack.KafkaVersion+".jar")
	st, err := os.Stat(jar)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(jar, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := stack.Fetch(ctx, cache, &log); err != nil {
		t.Fatalf("fetch: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "is corrupt") || !strings.Contains(log.String(), "mvn") {
		t.Errorf("fetch did not report the corrupt jar and fetch again:\n%s", log.String())
	}
	if st2, err := os.Stat(jar); err != nil || st2.Size() != st.Size() {
		t.Errorf("jar after refetch: %v, size %d, want %d", err, sizeOf(st2), st.Size())
	}
	// A second fetch of the now complete cache runs no mvn.
	log.Reset()
	if _, err := stack.Fetch(ctx, cache, &log); err != nil || log.Len() != 0 {
		t.Errorf("fetch of a complete cache: %v, output %q", err, log.String())
	}
}

// TestKafkaThatCannotStartFailsWithItsLog occupies the broker's port, so
// that Kafka exits at start, and checks that Start fails at once with the
// tail of the broker's log instead of waiting.
func TestKafkaThatCannotStartFailsWithItsLog(t *testing.T) {
	t.Parallel()
	a := stacktest.Artifacts(t)
	k, err := stack.NewKafka(a, stack.KafkaOptions{Dir: t.TempDir(), HeapMB: 256})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", k.Addr())
	if err != nil {
		t.Fatalf("occupy %s: %v", k.Addr(), err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	err = k.Start(ctx)
	defer k.Kill()
	if err == nil {
		t.Fatal("kafka started on an occupied port")
	}
	if !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("error does not say the broker exited, with its log:\n%v", err)
	}
	t.Logf("failed after %s", time.Since(began).Round(time.Millisecond))
}

// TestElasticsearchThatCannotStartFailsWithItsLog gives the node a setting
// it does not know, and checks that Start fails with the log naming it.
func TestElasticsearchThatCannotStartFailsWithItsLog(t *testing.T) {
	t.Parallel()
	a := stacktest.Artifacts(t)
	dir, err := os.MkdirTemp("", "sourced-es-bad-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e, err := stack.NewElasticsearch(a, stack.ESOptions{Dir: dir, HeapMB: 256, Config: map[string]string{"sourced.no.such.setting": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = e.Start(ctx)
	defer e.Kill()
	if err == nil {
		t.Fatal("elasticsearch started with an unknown setting")
	}
	if !strings.Contains(err.Error(), "exited during start-up") || !strings.Contains(err.Error(), "sourced.no.such.setting") {
		t.Errorf("error does not name the setting from the node's log:\n%v", err)
	}
}

// TestFetchInstallsTheAnalysisPlugin starts a node as realstack up does
// (security off) and checks that it loads the sourced-analysis plugin
// Fetch installed, and that the plugin's components analyze an address
// with the .security index's "email" analyzer as analysis-common would.
func TestFetchInstallsTheAnalysisPlugin(t *testing.T) {
	t.Parallel()
	a := stacktest.Artifacts(t)
	if _, err := os.Stat(filepath.Join(a.ESHome, "plugins", stack.PluginName, stack.PluginName+".jar")); err != nil {
		t.Fatalf("plugin not installed: %v", err)
	}
	es := stacktest.OwnElasticsearch(t, stack.ESOptions{HeapMB: 256})
	var plugins []struct {
		Component string `json:"component"`
	}
	esJSON(t, http.MethodGet, es.URL()+"/_cat/plugins?format=json", "", &plugins)
	if len(plugins) != 1 || plugins[0].Component != stack.PluginName {
		t.Errorf("_cat/plugins: %+v, want %s", plugins, stack.PluginName)
	}
	// The .security index's "email" analyzer (SecuritySystemIndices).
	const analyze = `{"tokenizer": "uax_url_email",
		"filter": [{"type": "pattern_capture", "preserve_original": true, "patterns": ["([^@]+)", "(\\p{L}+)", "(\\d+)", "@(.+)"]}, "lowercase", "unique"],
		"text": "Ada.Lovelace42@Example.org ada.lovelace42@example.org"}`
	var got struct {
		Tokens []struct {
			Token string `json:"token"`
		} `json:"tokens"`
	}
	esJSON(t, http.MethodPost, es.URL()+"/_analyze", analyze, &got)
	var tokens []string
	for _, tok := range got.Tokens {
		tokens = append(tokens, tok.Token)
	}
	want := []string{"ada.lovelace42@example.org", "ada.lovelace42", "ada", "lovelace", "example", "org", "42", "example.org"}
	if !slices.Equal(slices.Sorted(slices.Values(tokens)), slices.Sorted(slices.Values(want))) {
		t.Errorf("email analyzer tokens %q, want %q (each once)", tokens, want)
	}
}

func esJSON(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, url, err, b)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return -1
	}
	return st.Size()
}

// TestKafkaFormatsAClusterIDStartingWithADash formats storage with a
// cluster id that begins with "-" (one random id in 64 does), which the
// storage tool once took for a flag.
func TestKafkaFormatsAClusterIDStartingWithADash(t *testing.T) {
	t.Parallel()
	a := stacktest.Artifacts(t)
	id := base64.RawURLEncoding.EncodeToString([]byte{0xf8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	if id[0] != '-' {
		t.Fatalf("test id %q does not start with a dash", id)
	}
	dir := t.TempDir()
	if _, err := stack.NewKafka(a, stack.KafkaOptions{Dir: dir, ClusterID: id}); err != nil {
		t.Fatalf("format with cluster id %s: %v", id, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "data", "meta.properties"))
	if err != nil || !strings.Contains(string(b), "cluster.id="+id) {
		t.Fatalf("meta.properties: %v\n%s", err, b)
	}
}
