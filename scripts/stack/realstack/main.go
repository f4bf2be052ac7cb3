// Command realstack starts and stops the real Apache Kafka and
// Elasticsearch that the test suite runs against (scripts/realstack wraps
// it).
//
//	eval "$(scripts/realstack up)"   # prints SOURCED_TEST_KAFKA=... and SOURCED_TEST_ES=...
//	go test ./...
//	scripts/realstack down
//
// up fetches the pinned servers with mvn into the cache (SOURCED_REALSTACK_CACHE),
// starts both on free loopback ports with their data and logs in the state
// directory (SOURCED_REALSTACK_DIR, default /tmp/sourced-realstack), and
// prints the environment lines once both answer. A server that does not
// start fails the command with the tail of its log. down stops both by the
// PIDs recorded in the state directory. status tells whether they run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/scripts/stack"
)

// state is what up records for down and status.
type state struct {
	KafkaPID   int    `json:"kafka_pid"`
	KafkaAddr  string `json:"kafka_addr"`
	KafkaLog   string `json:"kafka_log"`
	ESPID      int    `json:"es_pid"`
	ESURL      string `json:"es_url"`
	ESLog      string `json:"es_log"`
	StartedAt  string `json:"started_at"`
	StartupSec string `json:"startup_seconds"`
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("realstack", flag.ContinueOnError)
	dir := fs.String("dir", envOr("SOURCED_REALSTACK_DIR", filepath.Join(os.TempDir(), "sourced-realstack")), "state directory: data, logs and PIDs of the servers (SOURCED_REALSTACK_DIR)")
	cache := fs.String("cache", stack.DefaultCacheDir(), "artifact cache reused across runs (SOURCED_REALSTACK_CACHE)")
	kafkaHeap := fs.Int("kafka-heap-mb", 512, "Kafka JVM heap")
	esHeap := fs.Int("es-heap-mb", 768, "Elasticsearch JVM heap")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: realstack up|down|status|fetch [flags]\n\n"+
			"  up      fetch (if needed) and start Kafka %s and Elasticsearch %s; print SOURCED_TEST_KAFKA and SOURCED_TEST_ES\n"+
			"  down    stop both by PID\n  status  print the environment lines if both run, exit 1 otherwise\n  fetch   only fill the cache\n\n",
			stack.KafkaVersion, stack.ElasticsearchVersion)
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var err error
	switch verb {
	case "up":
		err = up(ctx, *dir, *cache, *kafkaHeap, *esHeap)
	case "down":
		err = down(*dir)
	case "status":
		err = status(*dir)
	case "fetch":
		_, err = stack.Fetch(ctx, *cache, os.Stderr)
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "realstack %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func up(ctx context.Context, dir, cache string, kafkaHeap, esHeap int) error {
	if s, err := readState(dir); err == nil && alive(s.KafkaPID) && alive(s.ESPID) {
		fmt.Fprintln(os.Stderr, "realstack: already up")
		printEnv(s)
		return nil
	}
	_ = down(dir)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	began := time.Now()
	a, err := stack.Fetch(ctx, cache, os.Stderr)
	if err != nil {
		return err
	}
	fetched := time.Now()
	k, err := stack.NewKafka(a, stack.KafkaOptions{Dir: filepath.Join(dir, "kafka"), HeapMB: kafkaHeap})
	if err != nil {
		return err
	}
	es, err := stack.NewElasticsearch(a, stack.ESOptions{Dir: filepath.Join(dir, "elasticsearch"), HeapMB: esHeap})
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.Go(func() error { return k.Start(ctx) })
	g.Go(func() error { return es.Start(ctx) })
	if err := g.Wait(); err != nil {
		k.Stop()
		es.Stop()
		return err
	}
	s := state{
		KafkaPID: k.PID(), KafkaAddr: k.Addr(), KafkaLog: k.LogPath(),
		ESPID: es.PID(), ESURL: es.URL(), ESLog: es.LogPath(),
		StartedAt:  time.Now().UTC().Format(time.RFC3339),
		StartupSec: fmt.Sprintf("%.1f", time.Since(fetched).Seconds()),
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644); err != nil {
		return err
	}
	k.WriteInfo(os.Stderr)
	es.WriteInfo(os.Stderr)
	fmt.Fprintf(os.Stderr, "realstack: up in %.1fs (fetch %.1fs, start %ss); RSS kafka %d MiB, elasticsearch %d MiB\n",
		time.Since(began).Seconds(), fetched.Sub(began).Seconds(), s.StartupSec, k.RSSKB()/1024, es.RSSKB()/1024)
	printEnv(s)
	return nil
}

func down(dir string) error {
	s, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.Go(func() error { return stack.StopPID(s.KafkaPID, 30*time.Second) })
	g.Go(func() error { return stack.StopPID(s.ESPID, 30*time.Second) })
	if err := g.Wait(); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, "state.json"))
}

func status(dir string) error {
	s, err := readState(dir)
	if err != nil {
		return fmt.Errorf("not up: %w", err)
	}
	if !alive(s.KafkaPID) || !alive(s.ESPID) {
		return fmt.Errorf("not up: kafka pid %d alive %v, elasticsearch pid %d alive %v", s.KafkaPID, alive(s.KafkaPID), s.ESPID, alive(s.ESPID))
	}
	printEnv(s)
	return nil
}

func printEnv(s state) {
	fmt.Printf("SOURCED_TEST_KAFKA=%s\nSOURCED_TEST_ES=%s\nexport SOURCED_TEST_KAFKA SOURCED_TEST_ES\n", s.KafkaAddr, s.ESURL)
}

func readState(dir string) (state, error) {
	var s state
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
