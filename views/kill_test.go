package views_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// killChildEnv carries the child's configuration (killChild as JSON) when
// the test binary runs as the projector process the test kills.
const killChildEnv = "SOURCED_VIEWS_KILL_CHILD"

type killChild struct {
	Brokers []string
	Prefix  string
	URL     string
	View    string
}

// The view's projector runs in a child process (this test binary) and is
// SIGKILLed while a bulk request is held in flight by the fault proxy; a
// new projector in the same group then takes over from the committed
// offsets and the view converges to the table, new updates included.
func TestProjectorKilledMidBatchConverges(t *testing.T) {
	if raw := os.Getenv(killChildEnv); raw != "" {
		runKillChild(t, raw)
		return
	}
	c := newCluster(t, "profile", 2)
	ids := hotIDs(50)
	c.produceSnapshots(t, ids, 1, 10, profileState)
	url, faults, _ := stacktest.ESFaults(t, estest.Options{})
	store, names := openElastic(t, elastic.Config{URLs: []string{url}})
	view := profileView(names)
	faults.Delay("/_bulk", 50*time.Millisecond) // small, slow batches: many of them

	cfg, err := json.Marshal(killChild{Brokers: c.brokers, Prefix: c.prefix, URL: url, View: view.Name})
	if err != nil {
		t.Fatal(err)
	}
	child, exited := startChild(t, "TestProjectorKilledMidBatchConverges", killChildEnv, cfg)

	// Once the child has stored documents and committed offsets, hold its
	// next bulk in the proxy and kill it while it waits for the answer.
	adm := kadm.NewClient(c.client)
	group := codecs.ViewGroup(c.prefix, view.Name)
	deadline := time.Now().Add(60 * time.Second)
	for !anyStored(store, view.Name, ids) || !anyCommitted(adm, group) {
		if time.Now().After(deadline) {
			t.Fatal("the child stored or committed nothing in 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	faults.Delay("/_bulk", time.Minute)
	time.Sleep(500 * time.Millisecond)
	if allAt(store, view.Name, ids, 10) {
		t.Fatal("the child finished before the kill: nothing was killed mid-batch")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	faults.Clear()

	ends, err := adm.ListEndOffsets(context.Background(), c.topics.Table)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := adm.FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	behind, partitions := 0, 0
	var atKill int64
	ends.Each(func(e kadm.ListedOffset) {
		partitions++
		o, ok := committed.Lookup(e.Topic, e.Partition)
		if !ok || o.At < e.Offset {
			behind++
		}
		if ok && o.At > 0 {
			atKill += o.At
		}
	})
	if behind == 0 {
		t.Fatal("every offset was committed before the kill: the killed batch was committed early")
	}

	// Updates go on while no projector runs; a new one takes over.
	c.produceSnapshots(t, ids, 11, 12, profileState)
	p, err := views.NewProjector(view, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ),
		Sarama: shortSessions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	runProjector(t, p)
	waitVersions(t, store, view.Name, ids, 12)
	t.Logf("killed with %d records committed (%d of %d partitions behind); the new projector read %d records, wrote %d, %d stale",
		atKill, behind, partitions, p.Stats().Records.Load(), p.Stats().Writes.Load(), p.Stats().Stale.Load())
	if got, want := p.Stats().Records.Load(), int64(len(ids)*12)-atKill; got != want {
		t.Errorf("the new projector read %d records, want %d: the table minus the %d committed", got, want, atKill)
	}
	if n := p.Stats().DeadLetters.Load(); n != 0 {
		t.Fatalf("%d dead letters after the kill", n)
	}
}

// runKillChild is the child process: a projector with small batches that
// runs until it is killed (or for two minutes, should the parent vanish).
func runKillChild(t *testing.T, raw string) {
	var cfg killChild
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	store, err := elastic.New(elastic.Config{URLs: []string{cfg.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runChildProjector(t, cfg.Brokers, cfg.Prefix, cfg.View, store)
}

// startChild runs this test binary again as the child process of test,
// with env set to cfg (the child's configuration), and kills it when the
// test ends (logging its output if the test failed). exited is closed when
// the child is gone.
func startChild(t *testing.T, test, env string, cfg []byte) (child *exec.Cmd, exited <-chan struct{}) {
	t.Helper()
	child = exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v")
	child.Env = append(os.Environ(), env+"="+string(cfg))
	out := &lockedBuffer{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = child.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = child.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("child output:\n%s", out.String())
		}
	})
	return child, done
}

// runChildProjector is a child process's projector of the profile view
// called view into store, with small batches, until it is killed (or for
// two minutes, should the parent vanish).
func runChildProjector(t *testing.T, brokers []string, prefix, view string, store views.Store) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	v := profileView("")
	v.Name = view
	p, err := views.NewProjector(v, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: brokers}, Prefix: prefix, Store: store,
		DeadLetters: views.KafkaDeadLetters(cl, codecs.NewTopics(prefix, v.Aggregate).DLQ),
		Batch:       views.BatchConfig{MaxDocs: 10, Linger: 5 * time.Millisecond},
		Sarama:      shortSessions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Log("child projector running")
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// shortSessions is goka's configuration with the shortest session the
// brokers accept, so the group drops the killed member quickly (the
// rebalance otherwise waits for it up to the 60 s rebalance timeout).
func shortSessions() *sarama.Config {
	sc := goka.DefaultConfig()
	sc.Consumer.Group.Session.Timeout = 6 * time.Second
	sc.Consumer.Group.Heartbeat.Interval = time.Second
	sc.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	return sc
}

// anyCommitted reports whether group committed an offset above 0.
func anyCommitted(adm *kadm.Client, group string) bool {
	committed, err := adm.FetchOffsets(context.Background(), group)
	if err != nil {
		return false
	}
	found := false
	committed.Each(func(o kadm.OffsetResponse) { found = found || o.At > 0 })
	return found
}

// anyStored reports whether any of the ids has a document.
func anyStored(s views.Store, index string, ids []string) bool {
	for _, id := range ids {
		if _, err := s.Get(context.Background(), index, id); err == nil {
			return true
		}
	}
	return false
}

// allAt reports whether every id's document has version v.
func allAt(s views.Store, index string, ids []string, v uint64) bool {
	for _, id := range ids {
		if d, err := s.Get(context.Background(), index, id); err != nil || d.Version != v {
			return false
		}
	}
	return true
}

// lockedBuffer collects the child's output; safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
