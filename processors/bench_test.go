package processors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"syscall"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/profile"
)

// The benchmarks run the groups in-process against the embedded broker with
// LevelDB stores on disk, as PERF.md measured its baseline. Each measures
// from the first produce until every command has a result and every event
// is on the events topic, and reports commands per second and the CPU of
// the whole process (broker and clients included) per command. Compare
// figures of one run only (PERF.md): run them together, e.g.
//
//	go test -run '^$' -bench . -benchtime 20000x -count 3 ./processors/

const (
	benchPartitions = 8
	benchInvoices   = 10000
	benchHotKeys    = 100
	benchTimeout    = 3 * time.Minute
	benchPoll       = 5 * time.Millisecond
)

var benchAt = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// BenchmarkProcessorInvoice runs the processor and the publisher of invoice:
// one CreateInvoice per aggregate, then AddLineItem with new line ids
// round-robin over up to 10,000 invoices.
func BenchmarkProcessorInvoice(b *testing.B) {
	c := startClusterFor(b, "", invoice.Name, benchPartitions)
	g := runSourced(b, c, invoice.New())
	base := warmUp(b, c, g, func(key string) *codecs.Command { return createInvoiceCmd("warm-"+key, key) })
	measure(b, c, g, base, invoiceCommands(b.N))
	g.stop(b)
}

// BenchmarkPlainGokaInvoiceEmulation is the baseline of PERF.md: a plain goka
// processor doing the work of the invoice aggregate on the same input
// (decode the command and the JSON state, update it, store it, emit one
// event and one result), with goka's own LevelDB storage and no publisher.
func BenchmarkPlainGokaInvoiceEmulation(b *testing.B) {
	c := startClusterFor(b, "plain", invoice.Name, benchPartitions)
	g := runPlain(b, c)
	base := warmUp(b, c, g, func(key string) *codecs.Command { return createInvoiceCmd("warm-"+key, key) })
	measure(b, c, g, base, invoiceCommands(b.N))
	g.stop(b)
}

// BenchmarkProcessorProfileHotKeys runs the processor and the publisher of
// profile: 100 profiles each receiving AddFollower of new ids, so the
// snapshots grow and every partition works on a few hot keys.
func BenchmarkProcessorProfileHotKeys(b *testing.B) {
	c := startClusterFor(b, "", profile.Name, benchPartitions)
	g := runSourced(b, c, profile.New())
	base := warmUp(b, c, g, func(key string) *codecs.Command { return addFollowerCmd("warm-"+key, key, "warm-user") })
	cmds := make([]*codecs.Command, b.N)
	for i := range cmds {
		cmds[i] = addFollowerCmd(fmt.Sprintf("c-%08d", i), fmt.Sprintf("prof-%03d", i%benchHotKeys), fmt.Sprintf("u-%08d", i))
	}
	measure(b, c, g, base, cmds)
	g.stop(b)
}

// BenchmarkProcessorProfileFollowers measures the cost of a command against
// the size of its aggregate: one profile is given 10 or 10,000 followers
// (not measured), then receives AddFollower of new ids. The target
// is a cost independent of the size: 10,000 at most twice 10.
//
//	go test -run '^$' -bench ProcessorProfileFollowers -benchtime 2000x ./processors/
func BenchmarkProcessorProfileFollowers(b *testing.B) {
	for _, followers := range []int{10, 10000} {
		b.Run(fmt.Sprint(followers), func(b *testing.B) {
			c := startClusterFor(b, "", profile.Name, benchPartitions)
			g := runSourced(b, c, profile.New())
			base := warmUp(b, c, g, func(key string) *codecs.Command { return addFollowerCmd("warm-"+key, key, "warm-user") })
			seed := make([]*codecs.Command, followers)
			for i := range seed {
				seed[i] = addFollowerCmd(fmt.Sprintf("seed-%08d", i), "big", fmt.Sprintf("s-%08d", i))
			}
			produce(b, c, records(b, c, seed))
			n := int64(followers)
			waitFor(b, c, g, progress{results: base.results + n, events: base.events + n}, benchTimeout)
			base = endOffsets(b, c)
			cmds := make([]*codecs.Command, b.N)
			for i := range cmds {
				cmds[i] = addFollowerCmd(fmt.Sprintf("c-%08d", i), "big", fmt.Sprintf("u-%08d", i))
			}
			measure(b, c, g, base, cmds)
			g.stop(b)
		})
	}
}

func createInvoiceCmd(id, invoiceID string) *codecs.Command {
	return &codecs.Command{ID: id, Aggregate: invoice.Name, AggregateID: invoiceID, Type: "CreateInvoice", IssuedAt: benchAt,
		Data: json.RawMessage(`{"customer":"ACME Corporation","currency":"EUR","due_date":"2026-12-31"}`)}
}

func addFollowerCmd(id, profileID, userID string) *codecs.Command {
	return &codecs.Command{ID: id, Aggregate: profile.Name, AggregateID: profileID, Type: "AddFollower", IssuedAt: benchAt,
		Data: json.RawMessage(`{"user_id":"` + userID + `"}`)}
}

// invoiceCommands returns n commands: CreateInvoice for min(n, 10,000)
// invoices, then AddLineItem round-robin over them, each with a new line id.
func invoiceCommands(n int) []*codecs.Command {
	invoices := min(n, benchInvoices)
	cmds := make([]*codecs.Command, n)
	for i := range cmds {
		agg := fmt.Sprintf("inv-%05d", i%invoices)
		id := fmt.Sprintf("c-%08d", i)
		if i < invoices {
			cmds[i] = createInvoiceCmd(id, agg)
			continue
		}
		cmds[i] = &codecs.Command{ID: id, Aggregate: invoice.Name, AggregateID: agg, Type: "AddLineItem", IssuedAt: benchAt,
			Data: json.RawMessage(`{"line_id":"l-` + id + `","description":"Consulting, senior, per day","quantity":2,"unit_price":85000}`)}
	}
	return cmds
}

// groups runs goka groups until stop.
type groups struct {
	cancel  context.CancelFunc
	errc    chan error
	pending int
}

func runGroups(b *testing.B, runs ...func(context.Context) error) *groups {
	ctx, cancel := context.WithCancel(context.Background())
	g := &groups{cancel: cancel, errc: make(chan error, len(runs)), pending: len(runs)}
	for _, run := range runs {
		go func() { g.errc <- run(ctx) }()
	}
	// On a failure the benchmark stops early: stop the groups before the
	// broker (cleanups run last first).
	b.Cleanup(func() { g.stop(b) })
	return g
}

// stop cancels the groups and checks that each returns nil. It is
// idempotent.
func (g *groups) stop(b *testing.B) {
	b.Helper()
	g.cancel()
	timeout := time.After(time.Minute)
	for g.pending > 0 {
		select {
		case err := <-g.errc:
			g.pending--
			if err != nil {
				b.Errorf("group stopped with %v", err)
			}
		case <-timeout:
			b.Errorf("%d groups still running a minute after cancel", g.pending)
			return
		}
	}
}

// failed reports a group that returned while the benchmark waits.
func (g *groups) failed(b *testing.B) {
	b.Helper()
	select {
	case err := <-g.errc:
		g.pending--
		b.Fatalf("group returned during the benchmark: %v", err)
	default:
	}
}

// BenchmarkProcessorInvoiceSettings runs BenchmarkProcessorInvoice's load
// with one Kafka setting changed per sub-benchmark, against the defaults
// in the same run: the measurements behind the README's "Kafka settings".
//
//	go test -run '^$' -bench ProcessorInvoiceSettings -benchtime 20000x ./processors/
func BenchmarkProcessorInvoiceSettings(b *testing.B) {
	settings := []struct {
		name  string
		apply func(*processors.Config)
	}{
		{"defaults", func(*processors.Config) {}},
		{"linger=0", func(c *processors.Config) { processors.ProducerOptions(c, kgo.ProducerLinger(0)) }},
		{"linger=10ms", func(c *processors.Config) { processors.ProducerOptions(c, kgo.ProducerLinger(10*time.Millisecond)) }},
		{"channel=4096", func(c *processors.Config) { c.Sarama.ChannelBufferSize = 4096 }},
		{"fetch=8MiB", func(c *processors.Config) { c.Sarama.Consumer.Fetch.Default = 8 << 20 }},
		{"maxwait=500ms", func(c *processors.Config) { c.Sarama.Consumer.MaxWaitTime = 500 * time.Millisecond }},
		{"commit=5s", func(c *processors.Config) { c.Sarama.Consumer.Offsets.AutoCommit.Interval = 5 * time.Second }},
		// The first sub-benchmark of a run is often slower: defaults again
		// as the control.
		{"defaults-again", func(*processors.Config) {}},
	}
	for _, st := range settings {
		b.Run(st.name, func(b *testing.B) {
			c := startClusterFor(b, "", invoice.Name, benchPartitions)
			g := runSourcedWith(b, c, invoice.New(), st.apply)
			base := warmUp(b, c, g, func(key string) *codecs.Command { return createInvoiceCmd("warm-"+key, key) })
			measure(b, c, g, base, invoiceCommands(b.N))
			g.stop(b)
		})
	}
}

// runSourced runs the processor and the publisher of def.
func runSourced(b *testing.B, c *cluster, def processors.Definition) *groups {
	return runSourcedWith(b, c, def, func(*processors.Config) {})
}

// runSourcedWith runs the processor and the publisher of def with the
// configuration changed by apply.
func runSourcedWith(b *testing.B, c *cluster, def processors.Definition, apply func(*processors.Config)) *groups {
	b.Helper()
	cfg := processors.Config{Kafka: kafka.Connection{Brokers: c.brokers}, Prefix: c.prefix, Sarama: processors.KafkaConfig()}
	cfg.Store.Dir = b.TempDir()
	apply(&cfg)
	proc, err := processors.NewProcessor(def, cfg)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := processors.NewPublisher(def, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return runGroups(b, proc.Run, pub.Run)
}

// plainInvoice is the table value of the plain goka emulation.
type plainInvoice struct {
	Version uint64 `json:"version"`
	invoice.State
}

// runPlain runs a plain goka processor that does the invoice aggregate's
// work per command with goka's own LevelDB storage and the same Kafka
// settings as sourced.
func runPlain(b *testing.B, c *cluster) *groups {
	b.Helper()
	t := c.topics
	events, results := goka.Stream(t.Events), goka.Stream(t.Results)
	handle := func(ctx goka.Context, msg any) {
		var cmd codecs.Command
		if err := json.Unmarshal(msg.([]byte), &cmd); err != nil {
			ctx.Fail(err)
		}
		var st plainInvoice
		if v := ctx.Value(); v != nil {
			if err := json.Unmarshal(v.([]byte), &st); err != nil {
				ctx.Fail(err)
			}
		}
		var typ string
		var data any
		switch cmd.Type {
		case "CreateInvoice":
			var ci invoice.CreateInvoice
			if err := json.Unmarshal(cmd.Data, &ci); err != nil {
				ctx.Fail(err)
			}
			st.Customer, st.Currency, st.DueDate, st.Status, st.CreatedAt = ci.Customer, ci.Currency, ci.DueDate, invoice.StatusDraft, cmd.IssuedAt
			st.Lines, st.Payments = []invoice.Line{}, []invoice.Payment{}
			typ, data = "InvoiceCreated", invoice.InvoiceCreated{Customer: ci.Customer, Currency: ci.Currency, DueDate: ci.DueDate, CreatedAt: cmd.IssuedAt}
		case "AddLineItem":
			var al invoice.AddLineItem
			if err := json.Unmarshal(cmd.Data, &al); err != nil {
				ctx.Fail(err)
			}
			st.Lines = append(st.Lines, invoice.Line(al))
			st.Total += al.Quantity * al.UnitPrice
			st.Balance = st.Total - st.Paid
			typ, data = "LineItemAdded", invoice.LineItemAdded(al)
		default:
			ctx.Fail(fmt.Errorf("command type %q", cmd.Type))
		}
		st.Version++
		payload, err := json.Marshal(data)
		if err != nil {
			ctx.Fail(err)
		}
		value, err := json.Marshal(&st)
		if err != nil {
			ctx.Fail(err)
		}
		ev, err := json.Marshal(&codecs.Event{Aggregate: invoice.Name, AggregateID: ctx.Key(), Version: st.Version, Type: typ,
			CommandID: cmd.ID, OccurredAt: cmd.IssuedAt, Schema: 1, Data: payload})
		if err != nil {
			ctx.Fail(err)
		}
		res, err := json.Marshal(&codecs.Result{CommandID: cmd.ID, AggregateID: ctx.Key(), Status: codecs.StatusAccepted,
			Version: st.Version, Events: 1})
		if err != nil {
			ctx.Fail(err)
		}
		ctx.SetValue(value)
		ctx.Emit(events, ctx.Key(), ev)
		ctx.Emit(results, ctx.Key(), res)
	}
	graph := goka.DefineGroup(goka.Group(t.Group),
		goka.Input(goka.Stream(t.Commands), codecs.Bytes{}, handle),
		goka.Persist(codecs.Bytes{}),
		goka.Output(events, codecs.Bytes{}),
		goka.Output(results, codecs.Bytes{}),
	)
	// The LevelDB options of sourced's stores (state.Config defaults).
	opts := &opt.Options{BlockCacheCapacity: 8 << 20, WriteBuffer: 4 << 20, Compression: opt.SnappyCompression}
	sc := processors.KafkaConfig()
	gp, err := goka.NewProcessor(c.brokers, graph,
		goka.WithStorageBuilder(storage.BuilderWithOptions(b.TempDir(), opts)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(sc)),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(sc)),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, goka.NewTopicManagerConfig())),
		goka.WithLogger(log.New(io.Discard, "", 0)),
	)
	if err != nil {
		b.Fatal(err)
	}
	return runGroups(b, gp.Run)
}

// progress is the total end offset of the results and of the events topic.
type progress struct{ results, events int64 }

func endOffsets(b *testing.B, c *cluster) progress {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := c.adm.ListEndOffsets(ctx, c.topics.Results, c.topics.Events)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		b.Fatalf("end offsets: %v", err)
	}
	var p progress
	ends.Each(func(o kadm.ListedOffset) {
		switch o.Topic {
		case c.topics.Results:
			p.results += o.Offset
		case c.topics.Events:
			p.events += o.Offset
		}
	})
	return p
}

// waitFor polls the end offsets until both reach want.
func waitFor(b *testing.B, c *cluster, g *groups, want progress, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(benchPoll)
	defer tick.Stop()
	for {
		p := endOffsets(b, c)
		if p.results >= want.results && p.events >= want.events {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %v: %d of %d results, %d of %d events", timeout, p.results, want.results, p.events, want.events)
		}
		g.failed(b)
		<-tick.C
	}
}

// warmUp sends one command (made by mk for a key) to every partition and
// waits for its result and event, so every partition of every group is
// running; it returns the end offsets after them.
func warmUp(b *testing.B, c *cluster, g *groups, mk func(key string) *codecs.Command) progress {
	b.Helper()
	tp := kafka.Partitioner().ForTopic(c.topics.Commands)
	seen := map[int]bool{}
	var cmds []*codecs.Command
	for i := 0; len(cmds) < benchPartitions; i++ {
		key := fmt.Sprintf("warm-%03d", i)
		if p := tp.Partition(&kgo.Record{Key: []byte(key)}, benchPartitions); !seen[p] {
			seen[p] = true
			cmds = append(cmds, mk(key))
		}
	}
	produce(b, c, records(b, c, cmds))
	n := int64(len(cmds))
	waitFor(b, c, g, progress{results: n, events: n}, benchTimeout)
	return endOffsets(b, c)
}

func records(b *testing.B, c *cluster, cmds []*codecs.Command) []*kgo.Record {
	b.Helper()
	recs := make([]*kgo.Record, len(cmds))
	for i, cmd := range cmds {
		v, err := codecs.CommandCodec{}.Encode(cmd)
		if err != nil {
			b.Fatalf("encode command: %v", err)
		}
		recs[i] = &kgo.Record{Topic: c.topics.Commands, Key: []byte(cmd.AggregateID), Value: v}
	}
	return recs
}

func produce(b *testing.B, c *cluster, recs []*kgo.Record) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatalf("produce commands: %v", err)
	}
}

// measure produces cmds, each of which must yield one result and one event,
// and times it until the results and events topics have grown by
// len(cmds), reporting cmds/s and cpu-µs/cmd.
func measure(b *testing.B, c *cluster, g *groups, base progress, cmds []*codecs.Command) {
	b.Helper()
	recs := records(b, c, cmds)
	n := int64(len(cmds))
	cpu0 := cpuTime(b)
	b.ResetTimer()
	start := time.Now()
	produce(b, c, recs)
	waitFor(b, c, g, progress{results: base.results + n, events: base.events + n}, benchTimeout)
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/cmd")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
