package processors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
	"github.com/b2dc4357/sourced/processors/processorstest"
	"github.com/b2dc4357/sourced/state"
)

// invoiceStep is one command of the scripted life of an invoice, with the
// outcome the first handling must have.
type invoiceStep struct {
	typ  string
	data string
	want string // "accepted" or a rejection code
}

// invoiceScript is the life of every invoice in the integration test: ten
// commands, two of them rejected, the last one paying the balance (two
// events), so a paid invoice at version 9 proves every accepted command was
// applied exactly once, in order.
var invoiceScript = []invoiceStep{
	{"CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`, "accepted"},
	{"AddLineItem", `{"line_id":"l1","description":"widgets","quantity":2,"unit_price":500}`, "accepted"},
	{"AddLineItem", `{"line_id":"l2","description":"gadgets","quantity":1,"unit_price":300}`, "accepted"},
	{"AddLineItem", `{"line_id":"l3","description":"bolts","quantity":3,"unit_price":100}`, "accepted"},
	{"RemoveLineItem", `{"line_id":"l2"}`, "accepted"},
	{"IssueInvoice", `{}`, "accepted"},
	{"AddLineItem", `{"line_id":"l4","description":"late","quantity":1,"unit_price":1}`, invoice.RejectNotDraft},
	{"RecordPayment", `{"payment_id":"p0","amount":5000,"currency":"EUR"}`, invoice.RejectOverpayment},
	{"RecordPayment", `{"payment_id":"p1","amount":300,"currency":"EUR"}`, "accepted"},
	{"RecordPayment", `{"payment_id":"p2","amount":1000,"currency":"EUR"}`, "accepted"},
}

const scriptVersions = 9

const replicaTimeout = 90 * time.Second

// cluster is the test's broker (the shared Apache Kafka under
// SOURCED_TEST_KAFKA, else an embedded one) with clients for the test and
// the topics of one aggregate under a name prefix of the test's own.
type cluster struct {
	brokers []string
	// prefix goes before every topic and group name (processors.Config.Prefix).
	prefix string
	// real is true on Apache Kafka.
	real   bool
	cl     *kgo.Client
	adm    *kadm.Client
	topics codecs.Topics
}

func startCluster(t testing.TB, partitions int32) *cluster {
	t.Helper()
	return startClusterFor(t, "", invoice.Name, partitions)
}

// startClusterFor gives the test a broker (brokertest.Kafka: the embedded broker `dev` runs, or the shared Apache Kafka) with the
// topics of aggregate under the test's prefix followed by prefix. Table
// topics are compacted on Apache Kafka and never deleted on the embedded
// broker, as `topics ensure` and `dev` create them (DESIGN.md).
func startClusterFor(t testing.TB, prefix, aggregate string, partitions int32) *cluster {
	t.Helper()
	k := brokertest.Kafka(t)
	full := strings.TrimSuffix(k.Prefix, "-")
	if prefix != "" {
		full = strings.TrimPrefix(full+"-"+prefix, "-")
	}
	c := clusterOn(t, k.Brokers, k.Real, codecs.NewTopics(full, aggregate), partitions)
	c.prefix = full
	if k.Real {
		t.Cleanup(func() { c.dropTopics(t) })
	}
	return c
}

// clusterOn creates topics on brokers (Apache Kafka when real).
func clusterOn(t testing.TB, brokers []string, real bool, topics codecs.Topics, partitions int32) *cluster {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kafka.Partitioner()),
		kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(cl.Close)
	c := &cluster{brokers: brokers, real: real, cl: cl, adm: kadm.NewClient(cl), topics: topics}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, c.cl, c.topics, c.spec(partitions)); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
	return c
}

// spec is the TopicSpec of the broker: compacted tables on Apache Kafka,
// never-deleted ones on the embedded broker, which ignores
// min.compaction.lag.ms.
func (c *cluster) spec(partitions int32) kafka.TopicSpec {
	return kafka.TopicSpec{Partitions: partitions, NoCompaction: !c.real}
}

// sub is a prefix for more topics of the test: the cluster's prefix and name.
func (c *cluster) sub(name string) string { return strings.TrimPrefix(c.prefix+"-"+name, "-") }

// config is a processors.Config for the cluster's topics with stores in dir.
func (c *cluster) config(dir string) processors.Config {
	cfg := processors.Config{Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Sarama: processors.KafkaConfig()}
	cfg.Store.Dir = dir
	processors.CheckSnapshotCache(&cfg)
	return cfg
}

// dropTopics deletes the test's topics and groups from the shared broker
// once the test passed (a failed test's are kept to look at).
func (c *cluster) dropTopics(t testing.TB) {
	if t.Failed() {
		t.Logf("keeping topics %s on the shared broker", strings.Join(c.topics.All(), ", "))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.adm.DeleteTopics(ctx, c.topics.All()...); err != nil {
		t.Logf("delete topics: %v", err)
	}
	if _, err := c.adm.DeleteGroups(ctx, c.topics.Group, c.topics.PublisherGroup); err != nil {
		t.Logf("delete groups: %v", err)
	}
}

func (c *cluster) produce(t *testing.T, cmds []*codecs.Command) {
	t.Helper()
	recs := make([]*kgo.Record, len(cmds))
	for i, cmd := range cmds {
		b, err := codecs.CommandCodec{}.Encode(cmd)
		if err != nil {
			t.Fatalf("encode command: %v", err)
		}
		recs[i] = &kgo.Record{Topic: c.topics.Commands, Key: []byte(cmd.AggregateID), Value: b}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce commands: %v", err)
	}
}

// readAll returns every record of topic up to its current end offsets.
func (c *cluster) readAll(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	return processorstest.ReadTopic(t, c.brokers, topic)
}

// readSnapshots reads the table topic without the fences owners write when
// they take a partition.
func (c *cluster) readSnapshots(t *testing.T) []*kgo.Record {
	t.Helper()
	var snaps []*kgo.Record
	for _, r := range c.readAll(t, c.topics.Table) {
		if !codecs.IsFence(string(r.Key)) {
			snaps = append(snaps, r)
		}
	}
	return snaps
}

// resultWatcher collects results as they arrive.
type resultWatcher struct {
	mu      sync.Mutex
	results map[string][]codecs.Result
}

func (c *cluster) watchResults(t *testing.T) *resultWatcher {
	t.Helper()
	w := &resultWatcher{results: map[string][]codecs.Result{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.ConsumeTopics(c.topics.Results),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("results consumer: %v", err)
	}
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
				w.results[res.CommandID] = append(w.results[res.CommandID], res)
				w.mu.Unlock()
			})
		}
	}()
	return w
}

func (w *resultWatcher) answered(ids []string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, id := range ids {
		if len(w.results[id]) > 0 {
			n++
		}
	}
	return n
}

func (w *resultWatcher) waitAnswered(t *testing.T, ids []string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for w.answered(ids) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d commands answered after %v", w.answered(ids), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replica is the processor and publisher of invoice in a child process.
type replica struct {
	cmd *exec.Cmd
	log string
}

func startReplica(t *testing.T, c *cluster, dir string, env ...string) *replica {
	t.Helper()
	log := filepath.Join(t.TempDir(), "replica.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildRole+"=invoice", envChildBrokers+"="+strings.Join(c.brokers, ","),
		envChildPrefix+"="+c.prefix, envChildDir+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start replica: %v", err)
	}
	r := &replica{cmd: cmd, log: log}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("replica log:\n%s", b)
		}
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

func (r *replica) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal replica: %v", err)
	}
	if err := r.cmd.Wait(); err != nil {
		b, _ := os.ReadFile(r.log)
		t.Fatalf("replica did not stop cleanly: %v\n%s", err, b)
	}
}

func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill replica: %v", err)
	}
	_ = r.cmd.Wait()
}

func scriptCommands(invoices int, steps []int, retryEvery int) (cmds []*codecs.Command) {
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for _, s := range steps {
		for i := 0; i < invoices; i++ {
			st := invoiceScript[s]
			c := &codecs.Command{
				ID: fmt.Sprintf("inv-%04d-s%d", i, s), Aggregate: invoice.Name, AggregateID: fmt.Sprintf("inv-%04d", i),
				Type: st.typ, Data: json.RawMessage(st.data), IssuedAt: base.Add(time.Duration(s) * time.Minute),
			}
			cmds = append(cmds, c)
			if retryEvery > 0 && i%retryEvery == 0 {
				cmds = append(cmds, c) // a client retry: same id, new message
			}
		}
	}
	return cmds
}

func ids(cmds []*codecs.Command) []string {
	out := make([]string, 0, len(cmds))
	seen := map[string]bool{}
	for _, c := range cmds {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c.ID)
		}
	}
	return out
}

func TestIntegrationProcessorSurvivesCleanAndCrashRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs child processes against the embedded broker (~1 min)")
	}
	const invoices = 1000
	c := startCluster(t, 4)
	results := c.watchResults(t)
	dir := t.TempDir()

	// Phase 1: steps 0-2, then a clean stop.
	phase1 := scriptCommands(invoices, []int{0, 1, 2}, 10)
	r := startReplica(t, c, dir)
	c.produce(t, phase1)
	results.waitAnswered(t, ids(phase1), len(ids(phase1)), replicaTimeout)
	r.stop(t)
	assertStores(t, dir, true)

	// Phase 2: steps 3-6 on the restarted replica, then a clean stop.
	phase2 := scriptCommands(invoices, []int{3, 4, 5, 6}, 0)
	r = startReplica(t, c, dir)
	c.produce(t, phase2)
	results.waitAnswered(t, ids(phase2), len(ids(phase2)), replicaTimeout)
	r.stop(t)

	// Phase 3: steps 7-9, killed without a clean close while it works.
	phase3 := scriptCommands(invoices, []int{7, 8, 9}, 0)
	r = startReplica(t, c, dir)
	c.produce(t, phase3)
	results.waitAnswered(t, ids(phase3), len(ids(phase3))/3, replicaTimeout)
	r.kill(t)
	assertStores(t, dir, false)
	r = startReplica(t, c, dir)
	results.waitAnswered(t, ids(phase3), len(ids(phase3)), replicaTimeout)

	// Every command has a result. Each decided result has the scripted
	// outcome; a duplicate (a retry, or a replay after the kill whose first
	// result was lost with the process) repeats the first outcome (an
	// accepted command's version, a rejection's code), or says a replay is
	// no longer remembered.
	all := append(append(phase1, phase2...), phase3...)
	results.mu.Lock()
	for _, cmd := range all {
		rs := results.results[cmd.ID]
		if len(rs) == 0 {
			t.Fatalf("command %s has no result", cmd.ID)
		}
		var step int
		fmt.Sscanf(cmd.ID[strings.LastIndex(cmd.ID, "-s")+2:], "%d", &step)
		want := invoiceScript[step].want
		for _, r := range rs {
			switch {
			case r.Status == codecs.StatusDuplicate && r.Error == nil:
				if want != "accepted" || r.Version == 0 || r.FirstStatus != codecs.StatusAccepted {
					t.Fatalf("command %s: duplicate %+v, want outcome %s", cmd.ID, r, want)
				}
			case r.Status == codecs.StatusDuplicate && r.FirstStatus == "":
				if want == "accepted" || r.Error.Code != processors.RejectReplayed {
					t.Fatalf("command %s: duplicate %+v, want outcome %s", cmd.ID, r, want)
				}
			case r.Status == codecs.StatusDuplicate:
				if r.FirstStatus != codecs.StatusRejected || r.Error.Code != want {
					t.Fatalf("command %s: duplicate %+v, want outcome %s", cmd.ID, r, want)
				}
			case r.Error != nil:
				if r.Error.Code != want {
					t.Fatalf("command %s: %+v, want %s", cmd.ID, r, want)
				}
			case string(r.Status) != want:
				t.Fatalf("command %s: %+v, want %s", cmd.ID, r, want)
			}
		}
	}
	results.mu.Unlock()

	// Wait for the publisher, then check the events and the table.
	waitEventsComplete(t, c, invoices)
	r.stop(t)
	events := checkEvents(t, c, true)
	checkSnapshots(t, c, events)
}

// waitEventsComplete waits up to 2 minutes until the publisher has published
// every step of invoices invoices.
func waitEventsComplete(t *testing.T, c *cluster, invoices int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		events := checkEvents(t, c, false)
		if len(events) == invoices && allComplete(events) {
			break
		}
		if time.Now().After(deadline) {
			checkEvents(t, c, true)
			t.Fatalf("events incomplete after 2 minutes: %d aggregates", len(events))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func allComplete(events map[string][]codecs.Event) bool {
	for _, es := range events {
		if len(es) != scriptVersions {
			return false
		}
	}
	return true
}

// checkEvents reads the events topic and checks that per aggregate the
// versions are 1..N with no gap and every duplicate identical to its first
// copy. It returns the first copies in version order.
func checkEvents(t *testing.T, c *cluster, strict bool) map[string][]codecs.Event {
	t.Helper()
	first := map[string]map[uint64][]byte{}
	for _, r := range c.readAll(t, c.topics.Events) {
		var e codecs.Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("undecodable event %q: %v", r.Value, err)
		}
		if string(r.Key) != e.AggregateID {
			t.Fatalf("event of %s under key %s", e.AggregateID, r.Key)
		}
		byVersion := first[e.AggregateID]
		if byVersion == nil {
			byVersion = map[uint64][]byte{}
			first[e.AggregateID] = byVersion
		}
		if prev, ok := byVersion[e.Version]; ok {
			if !bytes.Equal(prev, r.Value) {
				t.Fatalf("duplicate of %s v%d differs:\n%s\n%s", e.AggregateID, e.Version, prev, r.Value)
			}
			continue
		}
		byVersion[e.Version] = r.Value
	}
	out := map[string][]codecs.Event{}
	for id, byVersion := range first {
		for v := uint64(1); v <= uint64(len(byVersion)); v++ {
			b, ok := byVersion[v]
			if !ok {
				if strict {
					t.Fatalf("events of %s have a gap at version %d (have %d versions)", id, v, len(byVersion))
				}
				return nil
			}
			var e codecs.Event
			_ = json.Unmarshal(b, &e)
			out[id] = append(out[id], e)
		}
	}
	return out
}

// checkSnapshots reads the table and checks that each aggregate's latest
// snapshot equals the fold of its events and is a paid invoice.
func checkSnapshots(t *testing.T, c *cluster, events map[string][]codecs.Event) {
	t.Helper()
	latest := fencedLatest(t, c)
	agg := invoice.New()
	for id, es := range events {
		s := latest[id]
		if s == nil {
			t.Fatalf("no snapshot of %s", id)
		}
		if s.Version != uint64(len(es)) {
			t.Fatalf("snapshot of %s at version %d, events up to %d", id, s.Version, len(es))
		}
		folded, err := agg.FoldState(es)
		if err != nil {
			t.Fatalf("fold %s: %v", id, err)
		}
		decided, err := agg.DecodeState(s.Schema, s.State)
		if err != nil {
			t.Fatalf("decode snapshot of %s: %v", id, err)
		}
		if diff := cmp.Diff(folded, decided); diff != "" {
			t.Fatalf("snapshot of %s differs from the fold of its events (-fold +snapshot):\n%s", id, diff)
		}
		if decided.Status != invoice.StatusPaid || decided.Balance != 0 {
			t.Fatalf("invoice %s ends %s with balance %d, want paid with 0", id, decided.Status, decided.Balance)
		}
	}
}

// fencedLatest reads the table as every reader does and returns each
// aggregate's latest snapshot, logging the stale snapshots dropped.
func fencedLatest(t *testing.T, c *cluster) map[string]*codecs.Snapshot {
	t.Helper()
	tab := processorstest.ReadTable(t, c.brokers, c.topics.Table)
	t.Logf("table: %d stale snapshots of deposed owners; without fencing %d aggregates would regress", tab.Stale, tab.Regressed)
	latest := make(map[string]*codecs.Snapshot, len(tab.Latest))
	for id, s := range tab.Latest {
		latest[id] = &s
	}
	return latest
}

// assertStores checks the clean markers of a stopped replica's stores.
func assertStores(t *testing.T, dir string, wantClean bool) {
	t.Helper()
	infos, err := state.List(dir)
	if err != nil {
		t.Fatalf("list stores: %v", err)
	}
	if len(infos) == 0 {
		t.Fatal("no stores on disk")
	}
	dirty := 0
	for _, in := range infos {
		if !in.Clean {
			dirty++
		}
	}
	if wantClean && dirty > 0 {
		t.Fatalf("%d of %d stores dirty after a clean stop", dirty, len(infos))
	}
	if !wantClean && dirty == 0 {
		t.Fatalf("all %d stores clean after a kill", len(infos))
	}
}
