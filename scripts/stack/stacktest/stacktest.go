// Package stacktest chooses the servers a test runs against. Without
// SOURCED_TEST_KAFKA and SOURCED_TEST_ES (the default, and any machine
// without Java) tests get the embedded broker (kfake) and estest, as
// before; with them (set by `eval "$(scripts/realstack up)"`) the same
// tests run against the shared real Apache Kafka and Elasticsearch, each
// under names of its own so that packages running in parallel do not meet.
//
// Tests that must crash or reconfigure a server (a broker SIGKILLed and
// restarted, a SASL_SSL listener, a secured node) start a dedicated one
// with OwnKafka or OwnElasticsearch, from the same artifact cache.
package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/third_party/kfake"

	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// Environment variables naming the shared real servers.
const (
	EnvKafka = "SOURCED_TEST_KAFKA"
	EnvES    = "SOURCED_TEST_ES"
)

// RealKafka is the shared real broker's address, "" when tests run on the
// embedded broker.
func RealKafka() string { return os.Getenv(EnvKafka) }

// RealES is the shared real Elasticsearch URL, "" when tests run on estest.
func RealES() string { return os.Getenv(EnvES) }

// Kafka is the broker a test talks to.
type Kafka struct {
	// Brokers are the seed addresses.
	Brokers []string
	// Prefix goes before every topic and group name of the test: unique
	// per test on a shared real broker, "" on an embedded one of its own.
	Prefix string
	// Real is true on Apache Kafka.
	Real bool
	// Cluster is the embedded broker, nil on Apache Kafka.
	Cluster *kfake.Cluster
}

// ES is the Elasticsearch a test talks to: the shared real node when
// SOURCED_TEST_ES is set, else a new estest server closed at cleanup
// (srv is nil on the real node). Index names must then be unique: use
// Prefix.
func ES(t testing.TB, opts estest.Options) (url string, srv *estest.Server) {
	t.Helper()
	if u := RealES(); u != "" {
		return strings.TrimRight(u, "/"), nil
	}
	srv = estest.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, srv
}

// ESFaults is ES behind an estest.FaultProxy started for the test: the
// URL is the proxy's, and faults is where the test injects outages (503,
// 429, latency, dropped connections) with the same rules on the real node
// and on estest (srv is nil on the real node). Bulk item faults need
// srv.Faults(), which the proxy cannot inject.
func ESFaults(t testing.TB, opts estest.Options) (url string, faults *estest.Faults, srv *estest.Server) {
	t.Helper()
	target, srv := ES(t, opts)
	p, err := estest.NewFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p)
	t.Cleanup(ts.Close)
	return ts.URL, p.Faults(), srv
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// Prefix is a name prefix unique to this test and run: the test's name in
// lower case (valid in Kafka topic, group and Elasticsearch index names)
// and a random suffix, ending in "-".
func Prefix(t testing.TB) string {
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "t-" + strings.Trim(name, "-") + "-" + hex.EncodeToString(b) + "-"
}

var (
	artifactsOnce sync.Once
	artifacts     stack.Artifacts
	artifactsErr  error
)

// Artifacts returns the real servers from the cache that realstack
// filled, skipping the test when tests do not run on the real stack.
func Artifacts(t testing.TB) stack.Artifacts {
	t.Helper()
	if RealKafka() == "" && RealES() == "" {
		t.Skip("needs the real servers: run under eval \"$(scripts/realstack up)\"")
	}
	artifactsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		artifacts, artifactsErr = stack.Fetch(ctx, stack.DefaultCacheDir(), testWriter{t})
	})
	if artifactsErr != nil {
		t.Fatalf("real servers: %v", artifactsErr)
	}
	return artifacts
}

// OwnKafka starts a dedicated Apache Kafka broker for a test that kills,
// restarts or reconfigures it; it is stopped at cleanup and its log is
// kept in the test's temp dir (and printed on failure). It skips unless
// the test run is on the real stack.
func OwnKafka(t testing.TB, opts stack.KafkaOptions) *stack.Kafka {
	t.Helper()
	a := Artifacts(t)
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "kafka")
	}
	if opts.HeapMB == 0 {
		opts.HeapMB = 384
	}
	k, err := stack.NewKafka(a, opts)
	if err != nil {
		t.Fatalf("prepare kafka: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stack.StartTimeout)
	defer cancel()
	began := time.Now()
	if err := k.Start(ctx); err != nil {
		t.Fatalf("start kafka: %v", err)
	}
	t.Logf("own kafka on %s started in %s (log %s)", k.Addr(), time.Since(began).Round(time.Millisecond), k.LogPath())
	t.Cleanup(func() {
		k.Stop()
		if t.Failed() {
			t.Logf("kafka log tail:\n%s", stack.LogTail(k.LogPath(), 60))
		}
	})
	return k
}

// OwnElasticsearch starts a dedicated Elasticsearch node for a test that
// needs security or other settings of its own; it is stopped at cleanup.
// It skips unless the test run is on the real stack.
func OwnElasticsearch(t testing.TB, opts stack.ESOptions) *stack.Elasticsearch {
	t.Helper()
	a := Artifacts(t)
	if opts.Dir == "" {
		dir, err := os.MkdirTemp("", "sourced-es-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		opts.Dir = dir
	}
	e, err := stack.NewElasticsearch(a, opts)
	if err != nil {
		t.Fatalf("prepare elasticsearch: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stack.StartTimeout)
	defer cancel()
	began := time.Now()
	if err := e.Start(ctx); err != nil {
		t.Fatalf("start elasticsearch: %v", err)
	}
	t.Logf("own elasticsearch on %s started in %s", e.URL(), time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("elasticsearch log tail:\n%s", stack.LogTail(e.LogPath(), 60))
		}
	})
	return e
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
