package views_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
	"github.com/b2dc4357/sourced/processors/processorstest"
	"github.com/b2dc4357/sourced/processors/profile"
	"github.com/b2dc4357/sourced/views"
)

// This test runs the real profile processor (a test may import it; the
// views package never does) so that the table holds exactly what the
// processor writes, including the snapshots it writes again at the same
// version: an accepted command with no event, a rejection, a conflict and
// a too_large refusal. A view is indexed with the aggregate version as its
// external version (DESIGN.md guarantee 5), so the store refuses the
// second snapshot of a version; the view converges to the table only if no
// such snapshot changes anything a view can project.

// convergeSnapshotLimit is the processor's MaxSnapshotBytes: a few large
// followers reach it.
const convergeSnapshotLimit = 3000

// snapshotView projects everything a state view is handed of a snapshot,
// so that any difference between two snapshots a view can see shows.
func snapshotView(names string) *views.View {
	return &views.View{
		Name: names + "profile-snapshots", Aggregate: profile.Name, Source: views.FromState,
		Mapping: views.Mapping{Properties: map[string]views.Field{
			"aggregate_id": {Type: views.Keyword},
			"version":      {Type: views.Long},
			"schema":       {Type: views.Long},
			"state":        {Type: views.Text},
			"updated_at":   {Type: views.Date},
			"offset":       {Type: views.Long},
		}},
		State: func(s *codecs.Snapshot) (views.Projection, error) {
			return views.Projection{Action: views.Put, Doc: map[string]any{
				"aggregate_id": s.AggregateID, "version": s.Version, "schema": s.Schema,
				"state": string(s.State), "updated_at": s.UpdatedAt, "offset": s.Offset,
			}}, nil
		},
	}
}

func TestViewsConvergeToSameVersionSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs the profile processor and projectors against the broker")
	}
	eachStore(t, testViewsConvergeToSameVersionSnapshots)
}

func testViewsConvergeToSameVersionSnapshots(t *testing.T, store views.Store, names string) {
	k := brokertest.Kafka(t)
	prefix := strings.TrimSuffix(k.Prefix, "-")
	topics := codecs.NewTopics(prefix, profile.Name)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.RecordPartitioner(kafka.Partitioner()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, cl, topics, kafka.TopicSpec{Partitions: 2, NoCompaction: !k.Real}); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	vs := []*views.View{profileView(names), snapshotView(names)}
	if k.Real {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			adm := kadm.NewClient(cl)
			if _, err := adm.DeleteTopics(ctx, topics.All()...); err != nil {
				t.Logf("delete topics: %v", err)
			}
			groups := []string{topics.Group}
			for _, v := range vs {
				groups = append(groups, codecs.ViewGroup(prefix, v.Name))
			}
			if _, err := adm.DeleteGroups(ctx, groups...); err != nil {
				t.Logf("delete groups: %v", err)
			}
		})
	}

	pcfg := processors.Config{Kafka: kafka.Connection{Brokers: k.Brokers}, Prefix: prefix, Sarama: processors.KafkaConfig(), MaxSnapshotBytes: convergeSnapshotLimit}
	pcfg.Store.Dir = t.TempDir()
	proc, err := processors.NewProcessor(profile.New(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "processor", proc.Run)
	dead := views.KafkaDeadLetters(cl, topics.DLQ)
	for _, v := range vs {
		p, err := views.NewProjector(v, views.ProjectorConfig{Kafka: kafka.Connection{Brokers: k.Brokers}, Prefix: prefix, Store: store,
			DeadLetters: dead, Batch: views.BatchConfig{Linger: 20 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		runProjector(t, p)
	}

	results := watchResults(t, k.Brokers, topics.Results)
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	command := func(id, typ, data string, expected ...uint64) *codecs.Command {
		n++
		c := &codecs.Command{ID: fmt.Sprintf("%s-c%d", id, n), Aggregate: profile.Name, AggregateID: id, Type: typ,
			Data: json.RawMessage(data), IssuedAt: base.Add(time.Duration(n) * time.Minute)}
		if len(expected) > 0 {
			c.ExpectedVersion = &expected[0]
		}
		return c
	}
	send := func(cmds ...*codecs.Command) {
		t.Helper()
		recs := make([]*kgo.Record, len(cmds))
		for i, c := range cmds {
			b, err := codecs.CommandCodec{}.Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			recs[i] = &kgo.Record{Topic: topics.Commands, Key: []byte(c.AggregateID), Value: b}
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatalf("produce commands: %v", err)
		}
	}

	// Each aggregate ends with a snapshot written again at the version it
	// had, by the path its name says; the first two commands are ordinary
	// accepted ones, so the view has the version before.
	type path struct {
		cmds []*codecs.Command
		want codecs.Status // the last command's outcome
		code string        // and its rejection code
	}
	paths := map[string]path{
		"noop": {cmds: []*codecs.Command{
			command("noop", "SetUsername", `{"username":"noop"}`),
			command("noop", "AddFollower", `{"user_id":"bob"}`),
			command("noop", "AddFollower", `{"user_id":"bob"}`), // a repeat: accepted, no event
		}, want: codecs.StatusAccepted},
		"rejected": {cmds: []*codecs.Command{
			command("rejected", "SetUsername", `{"username":"rejected"}`),
			command("rejected", "AddFollower", `{"user_id":"bob"}`),
			command("rejected", "Follow", `{"user_id":"rejected"}`), // itself
		}, want: codecs.StatusRejected, code: codecs.RejectInvalid},
		"conflict": {cmds: []*codecs.Command{
			command("conflict", "SetUsername", `{"username":"conflict"}`),
			command("conflict", "AddFollower", `{"user_id":"bob"}`),
			command("conflict", "SetUsername", `{"username":"late"}`, 1),
		}, want: codecs.StatusConflict, code: codecs.RejectConflict},
		// A profile is created by its first accepted command, even one with
		// no event: a snapshot at version 0, then another.
		"empty": {cmds: []*codecs.Command{
			command("empty", "Unfollow", `{"user_id":"bob"}`),
			command("empty", "Unfollow", `{"user_id":"carol"}`),
		}, want: codecs.StatusAccepted},
		"mixed": {cmds: []*codecs.Command{
			command("mixed", "SetUsername", `{"username":"mixed"}`),
			command("mixed", "AddFollower", `{"user_id":"bob"}`),
			command("mixed", "AddFollower", `{"user_id":"bob"}`),
			command("mixed", "Follow", `{"user_id":"mixed"}`),
			command("mixed", "SetUsername", `{"username":"late"}`, 0),
			command("mixed", "RemoveFollower", `{"user_id":"carol"}`),
		}, want: codecs.StatusAccepted},
	}
	var all []*codecs.Command
	for _, p := range paths {
		all = append(all, p.cmds...)
	}
	send(all...)
	for _, c := range all {
		results.wait(t, c.ID)
	}

	// too_large: followers with the longest ids until one does not fit.
	big := path{cmds: []*codecs.Command{command("toolarge", "SetUsername", `{"username":"toolarge"}`)},
		want: codecs.StatusRejected, code: processors.RejectTooLarge}
	send(big.cmds[0])
	results.wait(t, big.cmds[0].ID)
	for i := 0; ; i++ {
		if i == 30 {
			t.Fatalf("30 followers of %d characters fit in a snapshot of at most %d bytes", codecs.MaxIDLength, convergeSnapshotLimit)
		}
		c := command("toolarge", "AddFollower", fmt.Sprintf(`{"user_id":"f%02d-%s"}`, i, strings.Repeat("x", codecs.MaxIDLength-4)))
		big.cmds = append(big.cmds, c)
		send(c)
		if r := results.wait(t, c.ID); r.Status != codecs.StatusAccepted {
			break
		}
	}
	paths["toolarge"] = big

	// Every aggregate's last snapshot is the one its path wrote again at
	// the same version.
	last := map[string][]byte{}
	for _, r := range processorstest.ReadTopic(t, k.Brokers, topics.Table) {
		if !codecs.IsFence(string(r.Key)) { // fences are not snapshots
			last[string(r.Key)] = r.Value
		}
	}
	for id, p := range paths {
		lc := p.cmds[len(p.cmds)-1]
		r := results.wait(t, lc.ID)
		if r.Status != p.want || (p.code != "") != (r.Error != nil) || (r.Error != nil && r.Error.Code != p.code) {
			t.Fatalf("%s: the last command's result %+v, want %s %s", id, r, p.want, p.code)
		}
		var s codecs.Snapshot
		if err := json.Unmarshal(last[id], &s); err != nil {
			t.Fatalf("%s: last snapshot %q: %v", id, last[id], err)
		}
		if s.Step.CommandID != lc.ID || len(s.Step.Events) != 0 || s.Version != r.Version {
			t.Fatalf("%s: last snapshot at version %d with step %+v, want one of %s at version %d without events",
				id, s.Version, s.Step, lc.ID, r.Version)
		}
	}

	for _, v := range vs {
		waitConverged(t, store, v, v.Name, last)
	}

	// A rebuild replays the table from the start, every snapshot of a
	// version after the first refused as stale: it ends equal too.
	for _, v := range vs {
		res, err := views.Rebuild(context.Background(), v, views.RebuildConfig{
			Kafka:  kafka.Connection{Brokers: k.Brokers},
			Prefix: prefix, Store: store, DeadLetters: dead,
		})
		if err != nil {
			t.Fatalf("rebuild %s: %v", v.Name, err)
		}
		waitConverged(t, store, v, v.IndexName(res.Generation, ""), last)
	}
}

// waitConverged waits until every document of v in index equals the
// projection of its aggregate's last snapshot (raw table values by key).
func waitConverged(t *testing.T, store views.Store, v *views.View, index string, last map[string][]byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var diffs []string
		for id, raw := range last {
			want, err := views.Project(v, raw)
			if err != nil {
				t.Fatalf("project the last snapshot of %s: %v", id, err)
			}
			wantDoc, err := json.Marshal(want.Doc)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := store.Get(context.Background(), index, id)
			if err != nil {
				diffs = append(diffs, fmt.Sprintf("%s: %v", id, err))
				continue
			}
			if doc.Version != want.Version {
				diffs = append(diffs, fmt.Sprintf("%s: version %d, want %d", id, doc.Version, want.Version))
				continue
			}
			var got, wantJSON any
			if err := json.Unmarshal(doc.Source, &got); err != nil {
				t.Fatalf("%s: document %q: %v", id, doc.Source, err)
			}
			_ = json.Unmarshal(wantDoc, &wantJSON)
			if d := cmp.Diff(wantJSON, got); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s at version %d (-table +view):\n%s", id, doc.Version, d))
			}
		}
		if len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("view %s (index %s) differs from the table after 30s:\n%s", v.Name, index, strings.Join(diffs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runUntilCleanup runs f until the test ends, failing the test if it
// returns an error.
func runUntilCleanup(t *testing.T, what string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s stopped with %v", what, err)
		}
	})
}

// results collects the results topic as it grows.
type results struct {
	mu   sync.Mutex
	got  map[string]codecs.Result
	cond chan struct{} // closed and replaced on every new result
}

func watchResults(t *testing.T, brokers []string, topic string) *results {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	w := &results{got: map[string]codecs.Result{}, cond: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var res codecs.Result
				if err := json.Unmarshal(r.Value, &res); err != nil {
					t.Errorf("undecodable result %q: %v", r.Value, err)
					return
				}
				w.mu.Lock()
				if _, ok := w.got[res.CommandID]; !ok {
					w.got[res.CommandID] = res
				}
				close(w.cond)
				w.cond = make(chan struct{})
				w.mu.Unlock()
			})
		}
	}()
	return w
}

// wait returns the first result of command id, failing the test after 90s.
func (w *results) wait(t *testing.T, id string) codecs.Result {
	t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		w.mu.Lock()
		r, ok := w.got[id]
		cond := w.cond
		w.mu.Unlock()
		if ok {
			return r
		}
		select {
		case <-cond:
		case <-timeout:
			t.Fatalf("no result for command %s after 90s", id)
		}
	}
}
