package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/cmd/sourced/telemetry/telemetrytest"
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
)

// eventually polls cond every 100 ms until it returns "" or timeout
// passes, then fails with its last answer.
func eventually(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scrape(t *testing.T, base string) telemetrytest.Families {
	t.Helper()
	fams, err := telemetrytest.Scrape(context.Background(), base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestProcessorServesMetricsReadinessAndGokaMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a processor and publisher against the embedded broker")
	}
	k := brokertest.Kafka(t)
	brokers, prefix := k.Brokers, strings.TrimSuffix(k.Prefix, "-")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kafka.Partitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	topics := codecs.NewTopics(prefix, invoice.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, cl, topics, kafka.TopicSpec{Partitions: 2, NoCompaction: !k.Real}); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.DiscardHandler)
	o, err := newOps("127.0.0.1:0", []processors.Definition{invoice.New()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	o.lagEvery = 200 * time.Millisecond
	o.watchTable(topics.Table)
	o.watchTable(topics.PublisherTable)
	o.watchLag(topics.Group)
	opsDone := make(chan error, 1)
	go func() { opsDone <- o.run(ctx, cl) }()
	base := "http://" + o.srv.Addr()

	t.Run("before the tables are recovered it is alive but not ready", func(t *testing.T) {
		if code, body := telemetrytest.Get(t, base+"/healthz"); code != 200 {
			t.Fatalf("/healthz = %d %q", code, body)
		}
		code, r := telemetrytest.Readiness(t, base)
		if code != 503 || r.Ready || r.Checks["tables recovered: "+topics.Table] != "table "+topics.Table+": not started" {
			t.Fatalf("/readyz = %d %+v", code, r)
		}
	})

	// A SASL password in the client configuration (not enabled: the
	// embedded broker runs without SASL) must not show on goka's pages.
	const secret = "s3cret-sasl-password"
	sc := processors.KafkaConfig()
	sc.Net.SASL.User, sc.Net.SASL.Password = "svc", secret
	cfg := o.processorConfig(roleConfig(kafka.Connection{Brokers: brokers}, sc, t.TempDir(), cl, logger))
	cfg.Prefix = prefix
	proc, err := processors.NewProcessor(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := processors.NewPublisher(invoice.New(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.goka.SetProcessor("processor invoice", proc.Goka())
	o.goka.SetProcessor("publisher invoice", pub.Goka())
	pctx, stopRoles := context.WithCancel(ctx)
	defer stopRoles()
	rolesDone := make(chan error, 2)
	go func() { rolesDone <- proc.Run(pctx) }()
	go func() { rolesDone <- pub.Run(pctx) }()

	t.Run("ready once both tables are recovered", func(t *testing.T) {
		eventually(t, 60*time.Second, func() string {
			if code, r := telemetrytest.Readiness(t, base); code != 200 || !r.Ready {
				return fmt.Sprintf("/readyz = %d %+v", code, r)
			}
			return ""
		})
		fams := scrape(t, base)
		for _, table := range []string{topics.Table, topics.PublisherTable} {
			if v, ok := fams.Value("sourced_table_ready", "table", table); !ok || v != 1 {
				t.Errorf("sourced_table_ready{table=%q} = %v, %v; want 1", table, v, ok)
			}
			if v, ok := fams.Value("sourced_table_recovery_seconds", "table", table); !ok || v <= 0 || v > 60 {
				t.Errorf("sourced_table_recovery_seconds{table=%q} = %v, %v", table, v, ok)
			}
		}
	})

	v0 := uint64(0)
	cmds := []*codecs.Command{
		{ID: "k1", AggregateID: "inv-1", Type: "CreateInvoice", Data: json.RawMessage(`{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`)},
		{ID: "k1", AggregateID: "inv-1", Type: "CreateInvoice", Data: json.RawMessage(`{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`)},
		{ID: "k2", AggregateID: "inv-1", Type: "IssueInvoice"},
		{ID: "k3", AggregateID: "inv-1", Type: "AddLineItem", ExpectedVersion: &v0, Data: json.RawMessage(`{"line_id":"l1","description":"w","quantity":1,"unit_price":100}`)},
		{ID: "k4", AggregateID: "inv-2", Type: "Frobnicate"},
		{ID: "k5", AggregateID: "inv-3", Type: "CreateInvoice", Data: json.RawMessage(`{"customer":"b","currency":"EUR","due_date":"2026-12-31"}`)},
	}
	var recs []*kgo.Record
	for _, c := range cmds {
		c.Aggregate = invoice.Name
		b, err := codecs.CommandCodec{}.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Topic: topics.Commands, Key: []byte(c.AggregateID), Value: b})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	t.Run("commands are counted by aggregate, type and status", func(t *testing.T) {
		var fams telemetrytest.Families
		eventually(t, 30*time.Second, func() string {
			fams = scrape(t, base)
			n, _ := fams.Value("sourced_commands_total", "aggregate", "invoice")
			published, _ := fams.Value("sourced_events_published_total", "aggregate", "invoice")
			if n < float64(len(cmds)) || published < 2 {
				return fmt.Sprintf("%v commands counted, %v events published", n, published)
			}
			return ""
		})
		for _, want := range []struct {
			typ, status string
			n           float64
		}{
			{"CreateInvoice", "accepted", 2},
			{"CreateInvoice", "duplicate", 1},
			{"IssueInvoice", "rejected", 1},
			{"AddLineItem", "conflict", 1},
			{"unknown", "rejected", 1},
			{"AddLineItem", "accepted", 0},
		} {
			if v, ok := fams.Value("sourced_commands_total", "aggregate", "invoice", "type", want.typ, "status", want.status); !ok || v != want.n {
				t.Errorf("sourced_commands_total{type=%q,status=%q} = %v (found %v), want %v", want.typ, want.status, v, ok, want.n)
			}
		}
		if n, _ := fams.Value("sourced_commands_total"); n != float64(len(cmds)) {
			t.Errorf("sourced_commands_total sums to %v, want %d", n, len(cmds))
		}
		for _, ls := range fams.Series("sourced_commands_total") {
			if ls["type"] == "Frobnicate" {
				t.Errorf("a command type from the input became a label: %v", ls)
			}
		}
		if v, _ := fams.Value("sourced_dead_letters_total", "aggregate", "invoice", "code", "unknown_command"); v != 1 {
			t.Errorf("sourced_dead_letters_total{code=unknown_command} = %v, want 1", v)
		}
		if v, _ := fams.Value("sourced_command_result_latency_seconds", "aggregate", "invoice"); v != float64(len(cmds)) {
			t.Errorf("command→result latency samples = %v, want %d", v, len(cmds))
		}
		// Decide runs for the commands that reach it: the two creates, the
		// issue and the unknown type (not the duplicate or the conflict).
		if v, _ := fams.Value("sourced_decide_duration_seconds", "aggregate", "invoice"); v != 4 {
			t.Errorf("decide samples = %v, want 4", v)
		}
		if v, _ := fams.Value("sourced_events_published_total", "aggregate", "invoice"); v != 2 {
			t.Errorf("events published = %v, want 2", v)
		}
	})

	t.Run("consumer lag is polled per group and partition", func(t *testing.T) {
		eventually(t, 30*time.Second, func() string {
			fams := scrape(t, base)
			series := fams.Series("sourced_consumer_lag")
			var parts []string
			for _, ls := range series {
				if ls["group"] == topics.Group && ls["topic"] == topics.Commands {
					parts = append(parts, ls["partition"])
				}
			}
			slices.Sort(parts)
			if !slices.Equal(parts, []string{"0", "1"}) {
				return fmt.Sprintf("lag series %v", series)
			}
			if total, _ := fams.Value("sourced_consumer_lag", "group", topics.Group); total != 0 {
				return fmt.Sprintf("lag of %s = %v after every command was answered", topics.Group, total)
			}
			return ""
		})
	})

	t.Run("goka's monitor shows the groups and no secret", func(t *testing.T) {
		pages := []string{"/goka/", "/goka/monitor/", "/goka/monitor/processor/0", "/goka/monitor/processor/1",
			"/goka/monitor/data/processor/0", "/goka/monitor/data/processor/1"}
		var all strings.Builder
		for _, p := range pages {
			code, body := telemetrytest.Get(t, base+p)
			if code != 200 {
				t.Errorf("%s = %d", p, code)
			}
			all.WriteString(body)
		}
		if !strings.Contains(all.String(), topics.Commands) || !strings.Contains(all.String(), topics.PublisherGroup) {
			t.Errorf("goka pages do not name the topics and groups:\n%.2000s", all.String())
		}
		if strings.Contains(all.String(), secret) {
			t.Error("goka pages show the SASL password")
		}
		if code, _ := telemetrytest.Get(t, base+"/goka/monitor/processor/2"); code != 404 {
			t.Errorf("a processor past the end = %d, want 404", code)
		}
	})

	t.Run("stopped tables make it unready", func(t *testing.T) {
		stopRoles()
		for range 2 {
			if err := <-rolesDone; err != nil {
				t.Fatalf("role stopped with %v", err)
			}
		}
		code, r := telemetrytest.Readiness(t, base)
		if code != 503 || r.Checks["tables recovered: "+topics.Table] != "table "+topics.Table+": stopped" {
			t.Fatalf("/readyz after stop = %d %+v", code, r)
		}
		if v, _ := scrape(t, base).Value("sourced_table_ready", "table", topics.Table); v != 0 {
			t.Fatalf("sourced_table_ready after stop = %v, want 0", v)
		}
	})
	cancel()
	if err := <-opsDone; err != nil {
		t.Fatalf("ops: %v", err)
	}
}

func TestHTTPFlagOffServesNothing(t *testing.T) {
	for _, addr := range []string{"", "off"} {
		o, err := newOps(addr, nil, slog.New(slog.DiscardHandler))
		if err != nil || o.srv != nil {
			t.Fatalf("--http %q: server %v, %v; want none", addr, o.srv, err)
		}
	}
	taken, err := newOps("127.0.0.1:0", nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newOps(taken.srv.Addr(), nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--http") {
		t.Fatalf("--http on a taken port: %v, want an error naming the flag", err)
	}
	// Nothing else refers to taken's listener: unreachable, the
	// garbage collector could close it (and free the port) before the
	// second bind, which once let that bind succeed in CI.
	runtime.KeepAlive(taken)
}

var devHTTP = regexp.MustCompile(`(?m)^http +http://(\S+)`)

func TestDevServesViewMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sourced dev as a child process")
	}
	dataDir := t.TempDir()
	kafkaArgs, k := devKafka(t)
	listen := k.brokers
	// SOURCED_HTTP=127.0.0.1:0 comes from TestMain.
	cmd, out := startChild(t, []string{"SOURCED_DATA_DIR=" + dataDir, "SOURCED_BROKERS="},
		append(append([]string{"dev", "--partitions", "2"}, kafkaArgs...), devESArgs(t)...)...)
	var base string
	eventually(t, 60*time.Second, func() string {
		m := devHTTP.FindStringSubmatch(out.String())
		if m == nil {
			return "dev printed no http address"
		}
		base = "http://" + m[1]
		return ""
	})

	if code, r := send(t, listen, "invoice", "inv-1", "CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`); code != 0 {
		t.Fatalf("create: exit %d, %+v", code, r)
	}
	if code, r := send(t, listen, "invoice", "inv-1", "AddLineItem", `{"line_id":"l1","description":"w","quantity":1,"unit_price":100}`); code != 0 {
		t.Fatalf("add line: exit %d, %+v", code, r)
	}
	if code, r := send(t, listen, "invoice", "inv-1", "Frobnicate"); code != 1 {
		t.Fatalf("unknown command: exit %d, %+v", code, r)
	}

	// invoice-search projects the table (2 steps), invoice-history the
	// events (2 events); each writes at least one document.
	eventually(t, 60*time.Second, func() string {
		fams := scrape(t, base)
		var missing []string
		for _, view := range []string{"invoice-search", "invoice-history"} {
			for _, name := range []string{"sourced_view_records_total", "sourced_view_documents_total", "sourced_view_batches_total"} {
				min := 1.0
				if name == "sourced_view_records_total" {
					min = 2
				}
				if v, _ := fams.Value(name, "view", view); v < min {
					missing = append(missing, fmt.Sprintf("%s{view=%q} = %v < %v", name, view, v, min))
				}
			}
		}
		if v, _ := fams.Value("sourced_commands_total", "aggregate", "invoice", "status", "accepted"); v != 2 {
			missing = append(missing, fmt.Sprintf("accepted invoice commands = %v, want 2", v))
		}
		if v, _ := fams.Value("sourced_commands_total", "aggregate", "invoice", "type", "unknown", "status", "rejected"); v != 1 {
			missing = append(missing, fmt.Sprintf("rejected unknown invoice commands = %v, want 1", v))
		}
		return strings.Join(missing, "; ")
	})
	fams := scrape(t, base)
	if v, ok := fams.Value("sourced_view_dead_letters_total", "view", "invoice-search"); !ok || v != 0 {
		t.Errorf("invoice-search dead letters = %v (found %v), want 0", v, ok)
	}
	if code, r := telemetrytest.Readiness(t, base); code != 200 || !r.Ready || r.Checks["view store answers"] != "ok" || r.Checks["tables recovered: "+k.topics("profile").Table] != "ok" {
		t.Errorf("/readyz = %d %+v", code, r)
	}
	if code, _ := telemetrytest.Get(t, base+"/goka/monitor/"); code != 200 {
		t.Errorf("/goka/monitor/ = %d", code)
	}
	if v, _ := fams.Value("sourced_http_requests_total", "route", "GET /metrics", "status", "200"); v < 1 {
		t.Errorf("scrapes of /metrics counted %v times", v)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("dev did not stop cleanly: %v", err)
	}
}
