package processors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/processorstest"
	"github.com/b2dc4357/sourced/state"
)

// The restart and replica benchmarks answer two operational questions: how
// long a replica holding many aggregates takes to serve again after a clean
// stop and after a crash, and what a second and third replica of a processor
// do to throughput. Both run against the embedded broker with LevelDB stores
// on disk; run them with -benchtime 1x, e.g.
//
//	go test ./processors -run '^$' -bench 'RestartToReady|ReplicasThroughput' -benchtime 1x

const (
	restartAggregates = 100000
	restartPartitions = 8
	restartTimeout    = 2 * time.Minute

	replicasPartitions = 12
	replicasInvoices   = 3000
	replicasCommands   = 30000
)

// BenchmarkRestartToReady fills the invoice table with 100,000 snapshots,
// lets a processor restore them, and then times, per iteration, two
// restarts of the processor (a new processors.NewProcessor on the same
// store dir, as a restarted process builds) until goka reports it ready
// (every assigned partition recovered and running):
//
//   - clean: after Run was cancelled and the stores closed with their clean
//     markers, so LevelDB is reused as it is;
//   - crash: after the stores were left as a SIGKILL leaves them: opened
//     (which removes the clean marker) and never closed cleanly. The next
//     open wipes every store and goka restores it from the changelog.
//
// It reports clean-s, crash-s and their ratio, and the first restore into
// an empty dir (fill-restore-s), and how long the stops took: after a clean
// start (stop-clean-s) and after a restore (stop-restored-s, where the
// stores wait for the compactions the restore left owing, see
// state.Config.CompactionWait). The stop before each restart leaves the
// group cleanly, so crash-s is the cold restore alone: after a real SIGKILL
// a restart also waits for the broker to drop the dead member (up to the
// session timeout) before the group forms.
func BenchmarkRestartToReady(b *testing.B) {
	c := startClusterFor(b, "", invoice.Name, restartPartitions)
	fillTable(b, c, restartAggregates)
	dir := b.TempDir()

	// The first start restores the table into empty stores.
	fill, _, wipes := restartProcessor(b, c, dir)
	checkStores(b, dir, restartAggregates, true)
	if wipes != 0 {
		b.Fatalf("%d stores wiped on the first start into an empty dir", wipes)
	}

	var clean, crash, stopClean, stopRestored time.Duration
	b.ResetTimer()
	for range b.N {
		d, stop, wipes := restartProcessor(b, c, dir)
		if wipes != 0 {
			b.Fatalf("clean restart wiped %d stores", wipes)
		}
		clean += d
		stopClean += stop
		checkStores(b, dir, restartAggregates, true)

		leaveDirty(b, dir)
		checkStores(b, dir, restartAggregates, false)
		d, stop, wipes = restartProcessor(b, c, dir)
		if wipes != restartPartitions {
			b.Fatalf("crash restart wiped %d stores, want %d", wipes, restartPartitions)
		}
		crash += d
		stopRestored += stop
		checkStores(b, dir, restartAggregates, true)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(clean.Seconds()/n, "clean-s")
	b.ReportMetric(crash.Seconds()/n, "crash-s")
	b.ReportMetric(crash.Seconds()/clean.Seconds(), "crash/clean")
	b.ReportMetric(stopClean.Seconds()/n, "stop-clean-s")
	b.ReportMetric(stopRestored.Seconds()/n, "stop-restored-s")
	// After ResetTimer, which drops the metrics reported before it.
	b.ReportMetric(fill.Seconds(), "fill-restore-s")
}

// fillTable produces n invoice snapshots to the table topic, one per
// aggregate, as the processor writes them after a CreateInvoice: decided by
// the aggregate and encoded with the table codec's encoding.
func fillTable(b *testing.B, c *cluster, n int) {
	b.Helper()
	def := invoice.New()
	tp := kafka.Partitioner().ForTopic(c.topics.Commands)
	offsets := make([]int64, restartPartitions)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		id := fmt.Sprintf("inv-%06d", i)
		cmd := createInvoiceCmd(fmt.Sprintf("c-%08d", i), id)
		d := def.Decide(nil, cmd, cmd.IssuedAt)
		if d.Rejection != nil {
			b.Fatalf("decide %s: %+v", id, d.Rejection)
		}
		// The snapshot the processor would write for this command at the
		// next offset of its commands partition.
		p := tp.Partition(&kgo.Record{Key: []byte(id)}, restartPartitions)
		snap := &codecs.Snapshot{AggregateID: id, Version: uint64(len(d.Events)), Schema: d.StateSchema, State: d.State,
			UpdatedAt: cmd.IssuedAt, Offset: offsets[p], Step: codecs.Step{CommandID: cmd.ID, Events: d.Events}}
		offsets[p]++
		snap.Remember(codecs.Recent{CommandID: cmd.ID, Version: snap.Version, Events: len(d.Events)}, processors.DefaultDedupeWindow)
		v, err := codecs.JSON[codecs.Snapshot]{}.Encode(snap)
		if err != nil {
			b.Fatalf("encode snapshot: %v", err)
		}
		recs[i] = &kgo.Record{Topic: c.topics.Table, Key: []byte(id), Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatalf("produce snapshots: %v", err)
	}
}

// restartProcessor starts the invoice processor on the stores in dir, waits
// until goka reports it ready, and stops it cleanly. It returns the time
// from building the processor to ready, the time the stop took, and the
// number of stores wiped at open.
func restartProcessor(b *testing.B, c *cluster, dir string) (took, stopped time.Duration, wipes int) {
	b.Helper()
	var wiped atomic.Int64
	cfg := processors.Config{Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Sarama: processors.KafkaConfig()}
	cfg.Store.Dir = dir
	cfg.Store.Changelog = processors.Changelog(c.cl, 10*time.Second)
	cfg.Store.Hooks.OnWipe = func(string, int32, string) { wiped.Add(1) }

	start := time.Now()
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	g := runGroups(b, proc.Run)
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	if err := proc.Goka().WaitForReadyContext(ctx); err != nil {
		b.Fatalf("processor not ready after %v: %v", restartTimeout, err)
	}
	took = time.Since(start)
	g.failed(b)
	if !proc.Goka().Recovered() {
		b.Fatal("processor returned from WaitForReady but is not running")
	}
	stopAt := time.Now()
	g.stop(b)
	return took, time.Since(stopAt), int(wiped.Load())
}

// leaveDirty leaves the stores in dir as a process killed while running
// leaves them: each is opened through the state package (which removes its
// clean marker before the first write) and closed by a tainted Builder, so
// no marker is written again. The data stays on disk; the next open wipes it.
func leaveDirty(b *testing.B, dir string) {
	b.Helper()
	infos, err := state.List(dir)
	if err != nil {
		b.Fatal(err)
	}
	bld, err := state.NewBuilder(state.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	var closers []func() error
	for _, in := range infos {
		s, err := bld.Build(in.Topic, in.Partition)
		if err != nil {
			b.Fatal(err)
		}
		closers = append(closers, s.Close)
	}
	if err := bld.MarkDirty(); err != nil {
		b.Fatal(err)
	}
	for _, closeStore := range closers {
		if err := closeStore(); err != nil {
			b.Fatal(err)
		}
	}
}

// checkStores checks that the stopped replica's stores in dir hold keys
// aggregates in all and that every store is clean (or every one dirty).
func checkStores(b *testing.B, dir string, keys int, wantClean bool) {
	b.Helper()
	infos, err := state.List(dir)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, in := range infos {
		total += in.Keys
		if in.Clean != wantClean {
			b.Fatalf("store %s.%d clean=%v, want %v", in.Topic, in.Partition, in.Clean, wantClean)
		}
	}
	if len(infos) != restartPartitions || total != keys {
		b.Fatalf("%d stores hold %d keys, want %d stores holding %d", len(infos), total, restartPartitions, keys)
	}
	// Spot-check one value: the snapshot as produced to the changelog.
	const id = "inv-000000"
	for _, in := range infos {
		v, err := state.Get(in.Path, id)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		var snap codecs.Snapshot
		if err := json.Unmarshal(v, &snap); err != nil || snap.AggregateID != id || snap.Version != 1 {
			b.Fatalf("snapshot of %s in store %s: %+v, %v", id, in.Path, snap, err)
		}
		return
	}
	b.Fatalf("no store holds %s", id)
}

// BenchmarkReplicasThroughput runs 1 or 3 replicas of the invoice processor
// in this process, in one consumer group on 12 partitions, each with its own
// store dir (no publisher), and times 30,000 commands (CreateInvoice for
// 3,000 invoices, then AddLineItem round-robin) from the first produce until
// every result is on the results topic. Forming the group of three (several
// rebalances, seconds) and a warm-up command per partition come before the
// clock starts; ns/op includes them. The replicas share this machine's
// cores, so the figure shows what coordination costs, not what more
// machines would gain.
func BenchmarkReplicasThroughput(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			var took time.Duration
			var cpu time.Duration
			for range b.N {
				d, c := runReplicas(b, replicas)
				took += d
				cpu += c
			}
			n := float64(b.N * replicasCommands)
			b.ReportMetric(n/took.Seconds(), "cmds/s")
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/cmd")
		})
	}
}

// runReplicas starts replicas processors on a fresh broker, waits until the
// group is stable and every partition answered a warm-up command, then
// times replicasCommands commands.
func runReplicas(b *testing.B, replicas int) (time.Duration, time.Duration) {
	b.Helper()
	c := startClusterFor(b, "", invoice.Name, replicasPartitions)
	runs := make([]func(context.Context) error, replicas)
	procs := make([]*processors.Processor, replicas)
	for i := range procs {
		cfg := processors.Config{Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Sarama: processors.KafkaConfig()}
		cfg.Store.Dir = b.TempDir()
		cfg.Store.Changelog = processors.Changelog(c.cl, 10*time.Second)
		proc, err := processors.NewProcessor(invoice.New(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		procs[i], runs[i] = proc, proc.Run
	}
	g := runGroups(b, runs...)
	waitStableGroup(b, c, g, replicas)
	ctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	for _, p := range procs {
		if err := p.Goka().WaitForReadyContext(ctx); err != nil {
			b.Fatalf("replica not ready: %v", err)
		}
	}

	// One command per partition, so every partition of every replica is
	// running before the clock starts.
	tp := kafka.Partitioner().ForTopic(c.topics.Commands)
	seen := map[int]bool{}
	var warm []*codecs.Command
	for i := 0; len(warm) < replicasPartitions; i++ {
		key := fmt.Sprintf("warm-%03d", i)
		if p := tp.Partition(&kgo.Record{Key: []byte(key)}, replicasPartitions); !seen[p] {
			seen[p] = true
			warm = append(warm, createInvoiceCmd("warm-"+key, key))
		}
	}
	produce(b, c, records(b, c, warm))
	waitFor(b, c, g, progress{results: int64(len(warm))}, restartTimeout)
	base := endOffsets(b, c).results

	recs := records(b, c, replicaCommands())
	cpu0 := cpuTime(b)
	start := time.Now()
	produce(b, c, recs)
	waitFor(b, c, g, progress{results: base + replicasCommands}, restartTimeout)
	took := time.Since(start)
	cpu := cpuTime(b) - cpu0

	g.stop(b)
	checkAllAccepted(b, c, len(warm)+replicasCommands)
	return took, cpu
}

// checkAllAccepted reads the results topic and checks that it holds want
// results, one per command, every one accepted: no command was lost,
// answered twice or replayed by a rebalance.
func checkAllAccepted(b *testing.B, c *cluster, want int) {
	b.Helper()
	seen := make(map[string]bool, want)
	for _, r := range processorstest.ReadTopic(b, c.brokers, c.topics.Results) {
		var res codecs.Result
		if err := json.Unmarshal(r.Value, &res); err != nil {
			b.Fatalf("undecodable result %q: %v", r.Value, err)
		}
		if res.Status != codecs.StatusAccepted || seen[res.CommandID] {
			b.Fatalf("result %+v (seen before: %v), want one accepted result per command", res, seen[res.CommandID])
		}
		seen[res.CommandID] = true
	}
	if len(seen) != want {
		b.Fatalf("%d results, want %d", len(seen), want)
	}
}

// replicaCommands returns CreateInvoice for replicasInvoices invoices, then
// AddLineItem round-robin over them up to replicasCommands commands.
func replicaCommands() []*codecs.Command {
	cmds := make([]*codecs.Command, replicasCommands)
	for i := range cmds {
		agg := fmt.Sprintf("inv-%05d", i%replicasInvoices)
		id := fmt.Sprintf("c-%08d", i)
		if i < replicasInvoices {
			cmds[i] = createInvoiceCmd(id, agg)
			continue
		}
		cmds[i] = &codecs.Command{ID: id, Aggregate: invoice.Name, AggregateID: agg, Type: "AddLineItem", IssuedAt: benchAt,
			Data: json.RawMessage(`{"line_id":"l-` + id + `","description":"Consulting, senior, per day","quantity":2,"unit_price":85000}`)}
	}
	return cmds
}

// waitStableGroup polls until the processors' consumer group is stable with
// members members, each assigned at least one partition.
func waitStableGroup(b *testing.B, c *cluster, g *groups, members int) {
	b.Helper()
	deadline := time.Now().Add(restartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		described, err := c.adm.DescribeGroups(ctx, c.topics.Group)
		cancel()
		if err == nil {
			dg := described[c.topics.Group]
			assigned := 0
			for _, m := range dg.Members {
				if ca, ok := m.Assigned.AsConsumer(); ok && len(ca.Topics) > 0 {
					assigned++
				}
			}
			if dg.Err == nil && dg.State == "Stable" && len(dg.Members) == members && assigned == members {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("group %s not stable with %d members after %v (last error %v)", c.topics.Group, members, restartTimeout, err)
		}
		g.failed(b)
		time.Sleep(50 * time.Millisecond)
	}
}
