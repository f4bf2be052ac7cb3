package views_test

import (
	"context"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
)

// bufferedChildEnv carries the child's configuration (bufferedChild as
// JSON) when the test binary runs as the projector process the test kills.
const bufferedChildEnv = "SOURCED_VIEWS_BUFFERED_CHILD"

type bufferedChild struct {
	Brokers []string
	Prefix  string
	Dir     string
	View    string
}

// bufferedRefresh is the child's refresh interval: long enough that, were
// offsets committed as soon as Bulk returns, the kill would land before
// the refresh nearly every time.
const bufferedRefresh = 2 * time.Second

// A projector into the embedded store with a refresh interval commits
// offsets only once the writes before them are on disk (views.Syncer): the
// child process projects every snapshot, is SIGKILLed as soon as the
// group's offsets reach the end of the table (what it held in its buffer
// but not on disk is lost with it), and a new projector on the same
// directory must converge: documents whose last snapshot came before the
// kill included.
func TestProjectorKilledWithBufferedWritesConverges(t *testing.T) {
	if raw := os.Getenv(bufferedChildEnv); raw != "" {
		runBufferedChild(t, raw)
		return
	}
	c := newCluster(t, "profile", 2)
	ids := hotIDs(60)
	c.produceSnapshots(t, ids, 1, 10, profileState)
	dir := t.TempDir()
	view := profileView("")

	cfg, err := json.Marshal(bufferedChild{Brokers: c.brokers, Prefix: c.prefix, Dir: dir, View: view.Name})
	if err != nil {
		t.Fatal(err)
	}
	child, exited := startChild(t, "TestProjectorKilledWithBufferedWritesConverges", bufferedChildEnv, cfg)

	// Kill the child the moment its offsets reach the table's end.
	adm := kadm.NewClient(c.client)
	group := codecs.ViewGroup(c.prefix, view.Name)
	ends, err := adm.ListEndOffsets(context.Background(), c.topics.Table)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !committedTo(adm, group, ends) {
		if time.Now().After(deadline) {
			t.Fatal("the child did not commit the table's end in 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited

	// Half the ids get newer snapshots; the other half's last one came
	// before the kill, so only what the child made durable keeps them.
	store, err := bleve.Open(bleve.Config{Dir: dir, RefreshInterval: bufferedRefresh})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c.produceSnapshots(t, ids[:30], 11, 12, profileState)
	p, err := views.NewProjector(view, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store,
		DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ), Sarama: shortSessions(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := runProjector(t, p)
	waitVersions(t, store, view.Name, ids[:30], 12)
	stop()
	for _, id := range ids[30:] {
		doc, err := store.Get(context.Background(), view.Name, id)
		if err != nil || doc.Version != 10 {
			t.Fatalf("%s after the kill and a new projector: version %d, err %v; want 10: the child committed offsets past writes it had not made durable",
				id, doc.Version, err)
		}
	}
	t.Logf("the new projector read %d records", p.Stats().Records.Load())
}

// committedTo reports whether group committed ends on every partition.
func committedTo(adm *kadm.Client, group string, ends kadm.ListedOffsets) bool {
	committed, err := adm.FetchOffsets(context.Background(), group)
	if err != nil {
		return false
	}
	all := true
	ends.Each(func(e kadm.ListedOffset) {
		o, ok := committed.Lookup(e.Topic, e.Partition)
		all = all && ok && o.At >= e.Offset
	})
	return all
}

// runBufferedChild is the child process: a projector into the embedded
// store in Dir with a refresh interval, until it is killed.
func runBufferedChild(t *testing.T, raw string) {
	var cfg bufferedChild
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	store, err := bleve.Open(bleve.Config{Dir: cfg.Dir, RefreshInterval: bufferedRefresh})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runChildProjector(t, cfg.Brokers, cfg.Prefix, cfg.View, store)
}
