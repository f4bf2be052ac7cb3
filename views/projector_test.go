package views_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/reference"
)

// produceSnapshots writes one profile snapshot per (id, version) to the
// table topic, keyed by id.
func (c *cluster) produceSnapshots(t *testing.T, ids []string, fromVersion, toVersion uint64, state func(id string, v uint64) any) {
	t.Helper()
	var recs []*kgo.Record
	for v := fromVersion; v <= toVersion; v++ {
		for _, id := range ids {
			st, err := json.Marshal(state(id, v))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := json.Marshal(codecs.Snapshot{AggregateID: id, Version: v, Schema: 1, State: st, UpdatedAt: time.Now().UTC()})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: c.topics.Table, Key: []byte(id), Value: snap})
		}
	}
	if err := c.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func profileState(id string, v uint64) any {
	followers := make([]string, 0, v%5)
	for i := range v % 5 {
		followers = append(followers, "f"+strconv.FormatUint(i, 10))
	}
	return map[string]any{"username": fmt.Sprintf("%s-%d", id, v), "followers": followers, "following": []string{}}
}

// runProjector runs p until the test ends, failing the test if Run fails.
func runProjector(t *testing.T, p *views.Projector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("projector stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitVersions waits until every id's document in index has version want.
func waitVersions(t *testing.T, s views.Store, index string, ids []string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			doc, err := s.Get(context.Background(), index, id)
			if err == nil && doc.Version == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("document %s: version %d (err %v), want %d", id, doc.Version, err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func hotIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%03d", i)
	}
	return ids
}

func TestProjectorCoalescesHotDocuments(t *testing.T) {
	eachStore(t, testProjectorCoalescesHotDocuments)
}

func testProjectorCoalescesHotDocuments(t *testing.T, store views.Store, names string) {
	c := newCluster(t, "profile", 4)
	ids := hotIDs(100)
	c.produceSnapshots(t, ids, 1, 100, profileState) // 10,000 updates to 100 profiles
	view := profileView(names)
	p, err := views.NewProjector(view, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ),
		Batch: views.BatchConfig{Linger: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	runProjector(t, p)
	waitVersions(t, store, view.Name, ids, 100)
	st := p.Stats()
	for st.Records.Load() < 10_000 {
		time.Sleep(10 * time.Millisecond)
	}
	writes, batches := st.Writes.Load(), st.Batches.Load()
	t.Logf("10,000 updates to 100 profiles: %d batches, %d writes (%.3f writes per update), %d coalesced",
		batches, writes, float64(writes)/10_000, st.Coalesced.Load())
	if writes > 100*batches {
		t.Fatalf("%d writes in %d batches: more than one write per document per batch", writes, batches)
	}
	if writes >= 10_000/2 {
		t.Fatalf("%d writes for 10,000 updates: coalescing did not happen", writes)
	}
	doc, err := store.Get(context.Background(), view.Name, "user-007")
	if err != nil {
		t.Fatal(err)
	}
	var pd reference.ProfileDoc
	if err := json.Unmarshal(doc.Source, &pd); err != nil {
		t.Fatal(err)
	}
	if pd.Username != "user-007-100" || pd.FollowersCount != 0 {
		t.Fatalf("document %+v, want the state of version 100", pd)
	}
}

func TestProjectorDeadLettersARefusedDocumentAndGoesOn(t *testing.T) {
	eachStore(t, testProjectorDeadLettersARefusedDocumentAndGoesOn)
}

func testProjectorDeadLettersARefusedDocumentAndGoesOn(t *testing.T, store views.Store, names string) {
	c := newCluster(t, "profile", 1)
	view := profileView(names)
	// A projection bug: one profile's document contradicts the mapping.
	project := view.State
	view.State = func(s *codecs.Snapshot) (views.Projection, error) {
		p, err := project(s)
		if s.AggregateID == "bad" {
			p.Doc = map[string]any{"id": "bad", "version": "not a number"}
		}
		return p, err
	}
	c.produceSnapshots(t, []string{"a", "bad", "b"}, 1, 1, profileState)
	// And a record that is not a snapshot at all.
	if err := c.client.ProduceSync(context.Background(), &kgo.Record{Topic: c.topics.Table, Key: []byte("junk"), Value: []byte("{not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c.produceSnapshots(t, []string{"c"}, 1, 1, profileState)
	p, err := views.NewProjector(view, views.ProjectorConfig{
		Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ),
	})
	if err != nil {
		t.Fatal(err)
	}
	runProjector(t, p)
	waitVersions(t, store, view.Name, []string{"a", "b", "c"}, 1)
	if _, err := store.Get(context.Background(), view.Name, "bad"); !errors.Is(err, views.ErrNotFound) {
		t.Fatalf("the refused document: got %v, want not found", err)
	}
	dead := readDLQ(t, c, 2)
	if dead["bad"][codecs.HeaderErrorCode] != "refused" || dead["bad"][codecs.HeaderView] != view.Name {
		t.Fatalf("dead letter of the refused document: %v", dead["bad"])
	}
	if dead["junk"][codecs.HeaderErrorCode] != "malformed" || dead["junk"][codecs.HeaderSourceTopic] != c.topics.Table {
		t.Fatalf("dead letter of the malformed record: %v", dead["junk"])
	}
}

// readDLQ reads n dead letters and returns their headers by key.
func readDLQ(t *testing.T, c *cluster, n int) map[string]map[string]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.ConsumeTopics(c.topics.DLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string]map[string]string{}
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("read dead letters (have %d of %d): %v", len(out), n, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, kv := range r.Headers {
				h[kv.Key] = string(kv.Value)
			}
			out[string(r.Key)] = h
		})
	}
	return out
}

func TestRebuildWhileUpdatesFlowSwapsWithNoDowntime(t *testing.T) {
	eachStore(t, testRebuildWhileUpdatesFlowSwapsWithNoDowntime)
}

func testRebuildWhileUpdatesFlowSwapsWithNoDowntime(t *testing.T, store views.Store, names string) {
	c := newCluster(t, "profile", 4)
	ids := hotIDs(200)
	c.produceSnapshots(t, ids, 1, 5, profileState)
	view := profileView(names)
	cfg := views.ProjectorConfig{Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Store: store, DeadLetters: views.KafkaDeadLetters(c.client, c.topics.DLQ)}
	p, err := views.NewProjector(view, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runProjector(t, p)
	waitVersions(t, store, view.Name, ids, 5)
	old, _, err := store.Alias(context.Background(), view.Name)
	if err != nil || len(old) != 1 {
		t.Fatalf("alias before the rebuild: %v, %v", old, err)
	}

	// Updates keep flowing, and searches through the alias keep working
	// (from the moment every document is visible to search).
	if err := store.Refresh(context.Background(), view.Name); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var producing, searching sync.WaitGroup
	var searchErr error
	var searches int
	producing.Add(1)
	searching.Add(1)
	go func() {
		defer producing.Done()
		for v := uint64(6); v <= 30; v++ {
			c.produceSnapshots(t, ids, v, v, profileState)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	go func() {
		defer searching.Done()
		for ctx.Err() == nil {
			res, err := store.Search(context.Background(), view.Name, views.SearchRequest{Size: 1})
			searches++
			if err == nil && res.Total < len(ids) {
				err = fmt.Errorf("search through the alias found %d documents, want %d", res.Total, len(ids))
			}
			if err != nil {
				searchErr = err
				return
			}
		}
	}()
	var phases []string
	res, err := views.Rebuild(context.Background(), view, views.RebuildConfig{
		Kafka:  kafka.Connection{Brokers: c.brokers},
		Prefix: c.prefix, Store: store, DeadLetters: cfg.DeadLetters,
		Progress: func(p views.RebuildProgress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	producing.Wait()
	cancel()
	searching.Wait()
	if searchErr != nil {
		t.Fatalf("after %d searches: %v", searches, searchErr)
	}
	t.Logf("rebuild: generation %d, %d records, phases %v, %d searches during it", res.Generation, res.Records, phases, searches)
	if res.Generation != 2 || len(res.Removed) != 1 || res.Removed[0] != old[0] {
		t.Fatalf("rebuild result %+v, want generation 2 replacing %v", res, old)
	}
	now, _, err := store.Alias(context.Background(), view.Name)
	if err != nil || len(now) != 1 || now[0] != view.IndexName(2, "") {
		t.Fatalf("alias after the rebuild: %v, %v", now, err)
	}
	if _, err := store.Get(context.Background(), old[0], ids[0]); !errors.Is(err, views.ErrNotFound) {
		t.Fatalf("the old index is still there: %v", err)
	}
	// The live projector writes through the alias into the new index, so
	// it ends equal to the table.
	waitVersions(t, store, view.IndexName(2, ""), ids, 30)
}
