package processors_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/processorstest"
	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
)

// The publisher reads every step from the compacted table topic. On Apache
// Kafka with the log cleaner really running on the table (segments rolled
// every second, any dirty ratio cleanable), this test shows:
//
//   - a publisher that keeps up publishes every version with no gap while
//     the cleaner removes older snapshots behind it;
//   - a publisher stopped while min.compaction.lag.ms is 0 loses steps: the
//     cleaner removes snapshots it has not read and it reports gaps (the
//     control: the danger is real, and the gap check sees it);
//   - with min.compaction.lag.ms longer than the stop, the same rolled
//     segments are not cleanable: the cleaner leaves every snapshot the
//     stopped publisher has yet to read, and it publishes them all.
//
// The embedded broker does not compact table topics at all (DESIGN.md), so
// the test needs Apache Kafka; it starts one of its own to read its cleaner
// log and tune the cleaner.
func TestIntegrationPublisherAndTheLogCleaner(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: a dedicated Apache Kafka and its log cleaner")
	}
	if stacktest.RealKafka() == "" {
		t.Skip("the embedded broker never compacts table topics (DESIGN.md): needs Apache Kafka (SOURCED_TEST_KAFKA)")
	}
	k := stacktest.OwnKafka(t, stack.KafkaOptions{Config: map[string]string{
		"log.cleaner.backoff.ms":          "200",
		"log.cleaner.dedupe.buffer.size":  "16777216",
		"log.retention.check.interval.ms": "1000",
	}})
	c := clusterOn(t, []string{k.Addr()}, true, codecs.NewTopics("", invoice.Name), 1)
	table := c.topics.Table
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	setTable := func(configs map[string]string) {
		t.Helper()
		var alter []kadm.AlterConfig
		for key, v := range configs {
			alter = append(alter, kadm.AlterConfig{Name: key, Value: &v})
		}
		resp, err := c.adm.AlterTopicConfigs(ctx, alter, table)
		if err == nil {
			err = resp[0].Err
		}
		if err != nil {
			t.Fatalf("alter %s: %v", table, err)
		}
		for key, v := range configs {
			waitTopicConfig(t, c, table, key, v)
		}
	}
	setTable(map[string]string{
		"segment.ms": "1000", "segment.bytes": "1048576", "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0",
	})

	results := c.watchResults(t)
	var gaps atomic.Int64
	cfg := c.config(t.TempDir())
	cfg.Hooks.OnGap = func(_, id string, last, next uint64) { gaps.Add(1) }
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	procDone := make(chan error, 1)
	procCtx, stopProc := context.WithCancel(ctx)
	go func() { procDone <- proc.Run(procCtx) }()
	defer func() {
		stopProc()
		if err := <-procDone; err != nil {
			t.Errorf("processor: %v", err)
		}
	}()
	pubDir := t.TempDir()
	type running struct {
		cancel context.CancelFunc
		done   chan error
	}
	startPub := func() running {
		pcfg := cfg
		pcfg.Store.Dir = pubDir
		pub, err := processors.NewPublisher(invoice.New(), pcfg)
		if err != nil {
			t.Fatal(err)
		}
		pctx, cancel := context.WithCancel(ctx)
		r := running{cancel: cancel, done: make(chan error, 1)}
		go func() { r.done <- pub.Run(pctx) }()
		return r
	}
	stopPub := func(r running) {
		t.Helper()
		r.cancel()
		if err := <-r.done; err != nil {
			t.Fatalf("publisher: %v", err)
		}
	}

	// produce sends, per invoice of the phase, a CreateInvoice and lines
	// AddLineItem, in waves a second and a half apart so that segments
	// roll (and get cleaned) while the phase runs, and waits for results.
	const invoices, lines, waves = 20, 24, 3
	produce := func(phase string) (ids []string) {
		t.Helper()
		per := (lines + 1 + waves - 1) / waves
		for w := range waves {
			var cmds []*codecs.Command
			for s := w * per; s < (w+1)*per && s <= lines; s++ {
				for i := range invoices {
					id := fmt.Sprintf("%s-%02d", phase, i)
					cmd := &codecs.Command{ID: fmt.Sprintf("%s-%d", id, s), Aggregate: invoice.Name, AggregateID: id,
						Type: "AddLineItem", IssuedAt: benchAt,
						Data: json.RawMessage(fmt.Sprintf(`{"line_id":"l%d","description":"d","quantity":1,"unit_price":1}`, s))}
					if s == 0 {
						cmd.Type, cmd.Data = "CreateInvoice", json.RawMessage(`{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)
					}
					cmds = append(cmds, cmd)
					ids = append(ids, cmd.ID)
				}
			}
			c.produce(t, cmds)
			results.waitAnswered(t, ids, len(ids), replicaTimeout)
			time.Sleep(1500 * time.Millisecond)
		}
		return ids
	}
	// roll appends one more snapshot (of another invoice) after the
	// segment.ms passed, so the segment holding the phase is no longer
	// active and can be cleaned.
	rolls := 0
	roll := func() {
		t.Helper()
		time.Sleep(1100 * time.Millisecond)
		rolls++
		id := fmt.Sprintf("roll-%d", rolls)
		c.produce(t, []*codecs.Command{{ID: id, Aggregate: invoice.Name, AggregateID: id, Type: "CreateInvoice", IssuedAt: benchAt,
			Data: json.RawMessage(`{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`)}})
		results.waitAnswered(t, []string{id}, 1, replicaTimeout)
	}
	// removed counts the table's records at offsets from..end that the
	// cleaner removed.
	removed := func(from int64) (gone, written int64) {
		t.Helper()
		ends, err := c.adm.ListEndOffsets(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		end, _ := ends.Lookup(table, 0)
		var kept int64
		for _, r := range processorstest.ReadTopic(t, c.brokers, table) {
			if r.Offset >= from && r.Offset < end.Offset {
				kept++
			}
		}
		return end.Offset - from - kept, end.Offset - from
	}
	committed := func() int64 {
		t.Helper()
		os, err := c.adm.FetchOffsets(ctx, c.topics.PublisherGroup)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := os.Lookup(table, 0)
		return o.At
	}
	// published waits until the events of the phase's invoices reach their
	// last version and returns how many of those versions are missing.
	published := func(phase string) (missing int) {
		t.Helper()
		deadline := time.Now().Add(replicaTimeout)
		for {
			versions := map[string]map[uint64]bool{}
			for _, r := range c.readAll(t, c.topics.Events) {
				var e codecs.Event
				if err := json.Unmarshal(r.Value, &e); err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(e.AggregateID, phase+"-") {
					if versions[e.AggregateID] == nil {
						versions[e.AggregateID] = map[uint64]bool{}
					}
					versions[e.AggregateID][e.Version] = true
				}
			}
			missing = 0
			done := len(versions) == invoices
			for _, vs := range versions {
				done = done && vs[lines+1]
				for v := uint64(1); v <= lines+1; v++ {
					if !vs[v] {
						missing++
					}
				}
			}
			if done {
				return missing
			}
			if time.Now().After(deadline) {
				t.Fatalf("phase %s: events incomplete after %s (%d invoices seen)", phase, replicaTimeout, len(versions))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitRemoved := func(from int64, what string) int64 {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for {
			gone, written := removed(from)
			if gone > 0 {
				t.Logf("%s: the cleaner removed %d of the %d snapshots written since offset %d", what, gone, written, from)
				return gone
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the cleaner removed nothing of the %d snapshots since offset %d in 45 s", what, written, from)
			}
			roll()
		}
	}

	// A: the publisher keeps up while the cleaner works.
	began := time.Now()
	pub := startPub()
	produce("a")
	if missing := published("a"); missing != 0 || gaps.Load() != 0 {
		t.Fatalf("keeping up: %d versions missing, %d gaps reported", missing, gaps.Load())
	}
	waitRemoved(0, "publisher keeping up")
	if gaps.Load() != 0 {
		t.Fatalf("keeping up: %d gaps reported", gaps.Load())
	}
	t.Logf("A (keeping up): every version of %d invoices published, no gap (%s)", invoices, time.Since(began).Round(time.Millisecond))

	// B (control): stopped with min.compaction.lag.ms 0, it loses steps.
	began = time.Now()
	stopPub(pub)
	from := committed()
	produce("b")
	waitRemoved(from, "publisher stopped, no lag")
	pub = startPub()
	missing := published("b")
	if missing == 0 || gaps.Load() == 0 {
		t.Fatalf("control: the cleaner removed unread snapshots yet %d versions are missing and %d gaps reported", missing, gaps.Load())
	}
	t.Logf("B (stopped, min.compaction.lag.ms=0): %d of %d versions never published, %d gaps reported (%s)",
		missing, invoices*(lines+1), gaps.Load(), time.Since(began).Round(time.Millisecond))

	// C: stopped, protected by min.compaction.lag.ms longer than the stop.
	began = time.Now()
	setTable(map[string]string{"min.compaction.lag.ms": "120000"})
	stopPub(pub)
	gapsBefore := gaps.Load()
	from = committed()
	cleanings := cleanerRuns(t, k.LogPath(), table)
	produce("c")
	for range 4 {
		roll()
	}
	if gone, written := removed(from); gone != 0 {
		t.Fatalf("min.compaction.lag.ms 120000: the cleaner removed %d of %d unread snapshots", gone, written)
	}
	pub = startPub()
	if missing := published("c"); missing != 0 || gaps.Load() != gapsBefore {
		t.Fatalf("protected by min.compaction.lag.ms: %d versions missing, %d new gaps", missing, gaps.Load()-gapsBefore)
	}
	stopPub(pub)
	ran := cleanerRuns(t, k.LogPath(), table)
	t.Logf("C (stopped %s, min.compaction.lag.ms=120000): every version published; the cleaner cleaned the table %d times meanwhile, removing nothing unread",
		time.Since(began).Round(time.Millisecond), len(ran)-len(cleanings))
	gone, written := removed(0)
	t.Logf("table: %d snapshots written, %d removed by the cleaner in %d runs:\n%s", written, gone, len(ran), strings.Join(ran, "\n"))
}

// cleanerRuns returns the log cleaner's reports of the runs that cleaned
// topic's partitions, from the broker's log: each the "cleaned log" line
// with the statistics lines after it.
func cleanerRuns(t *testing.T, path, topic string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out []string
		run *strings.Builder
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "cleaned log "+topic+"-"):
			run = &strings.Builder{}
			run.WriteString(strings.TrimSpace(line))
			out = append(out, "")
		case run != nil && !strings.HasPrefix(line, "["):
			run.WriteString(" | " + strings.TrimSpace(line))
		default:
			run = nil
		}
		if run != nil {
			out[len(out)-1] = run.String()
		}
	}
	return out
}
