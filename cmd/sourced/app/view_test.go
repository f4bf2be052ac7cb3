package app

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/processorstest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
)

// TestViewKilledMidBatchConvergesAndOffsetsReset runs the profile processor
// and the profile view as child processes, SIGKILLs the view while updates
// flow, restarts it, and checks that the view converges to the table. Then
// `offsets reset` refuses the live view group and moves the stopped one.
func TestViewKilledMidBatchConvergesAndOffsetsReset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the broker, a processor and a view as child processes (~20 s)")
	}
	dataDir := t.TempDir()
	k := newTestKafka(t, dataDir)
	t.Setenv("SOURCED_PREFIX", k.prefix)
	listen, env := k.brokers, k.env()
	if code, out := runSourced(t, listen, k.ensureArgs(4)...); code != 0 {
		t.Fatalf("topics ensure: %s", out)
	}
	newChild(t, env, "run", "processor", "--aggregate", "profile", "--data-dir", filepath.Join(dataDir, "processor"))
	viewDir := filepath.Join(dataDir, "view")
	view := newChild(t, env, "run", "view", "--view", "profile", "--data-dir", viewDir)

	cl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.RecordPartitioner(kafka.Partitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics := k.topics("profile")
	viewGroup := k.viewGroup("profile")
	const profiles, steps = 200, 10
	produce := func(step int) {
		var recs []*kgo.Record
		for p := range profiles {
			c := &codecs.Command{ID: fmt.Sprintf("v%d-s%d", p, step), Aggregate: "profile", AggregateID: fmt.Sprintf("u-%d", p),
				Type: "SetUsername", Data: json.RawMessage(fmt.Sprintf(`{"username":"name-%d"}`, step))}
			b, err := codecs.CommandCodec{}.Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: topics.Commands, Key: []byte(c.AggregateID), Value: b})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for step := range steps {
		produce(step)
		time.Sleep(150 * time.Millisecond)
		if step == steps/2 {
			view.kill() // mid-stream, most likely mid-batch
			view.start()
		}
	}

	// Wait until the table holds the last step of every profile.
	want := map[string]uint64{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		clear(want)
		for id, s := range processorstest.ReadTable(t, []string{listen}, topics.Table).Latest {
			want[id] = s.Version
		}
		done := len(want) == profiles
		for _, v := range want {
			done = done && v == steps
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the processor did not apply every command: %d profiles", len(want))
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitGroupStable(t, listen, viewGroup, 1)

	t.Run("offsets reset refuses the live view group", func(t *testing.T) {
		code, out := runSourced(t, listen, "offsets", "reset", "--group", viewGroup, "--to", "earliest", "--execute")
		if code != 1 || !strings.Contains(out, "live members") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	// The view commits only what it stored: once its group's offsets
	// reach the end of the table, stop it and read its store.
	waitCommitted(t, listen, viewGroup, topics.Table)
	if err := view.stop(); err != nil {
		t.Fatalf("view did not stop cleanly: %v", err)
	}
	checkView := func() {
		t.Helper()
		store, err := bleve.Open(bleve.Config{Dir: filepath.Join(viewDir, "views")})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		for id, v := range want {
			doc, err := store.Get(context.Background(), "profile", id)
			if err != nil || doc.Version != v {
				t.Fatalf("view document %s: version %d (%v), want %d", id, doc.Version, err, v)
			}
		}
		res, err := store.Search(context.Background(), "profile", views.SearchRequest{Size: 1})
		if err != nil || res.Total != profiles {
			t.Fatalf("the view holds %d documents (%v), want %d", res.Total, err, profiles)
		}
	}
	checkView()

	t.Run("offsets reset plans, then applies to the stopped group", func(t *testing.T) {
		code, out := runSourced(t, listen, "offsets", "reset", "--group", viewGroup, "--to", "earliest")
		if code != 0 || !strings.Contains(out, "plan only") || !strings.Contains(out, topics.Table) {
			t.Fatalf("plan: exit %d:\n%s", code, out)
		}
		code, out = runSourced(t, listen, "offsets", "reset", "--group", viewGroup, "--to", "earliest", "--execute")
		if code != 0 || !strings.Contains(out, "moved to earliest") {
			t.Fatalf("execute: exit %d:\n%s", code, out)
		}
	})
	// The view replays everything from the start and still converges
	// (external versions make the replay harmless).
	view.start()
	waitGroupStable(t, listen, viewGroup, 1)
	waitCommitted(t, listen, viewGroup, topics.Table)
	if err := view.stop(); err != nil {
		t.Fatalf("view did not stop cleanly after the reset: %v", err)
	}
	checkView()
}

// waitCommitted waits until group has committed the end offset of every
// partition of topic.
func waitCommitted(t *testing.T, brokers, group, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ends, err := adm.ListEndOffsets(ctx, topic)
		committed, cerr := adm.FetchOffsets(ctx, group)
		cancel()
		behind := -1
		if err == nil && cerr == nil {
			behind = 0
			ends.Each(func(e kadm.ListedOffset) {
				if o, ok := committed.Lookup(e.Topic, e.Partition); !ok || o.At < e.Offset {
					behind++
				}
			})
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s has not committed the end of %s (%d partitions behind; %v %v)", group, topic, behind, err, cerr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
