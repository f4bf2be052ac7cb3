package app

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	embedded "github.com/b2dc4357/sourced/processors/kafka/broker"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
)

func TestDayDurationFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"10m", 10 * time.Minute, ""},
		{"1s", time.Second, ""},
		{"500ms", 0, "shorter than a second"},
		{"0", 0, "shorter than a second"},
		{"-1d", 0, "not a number of days"},
		{"xd", 0, "not a number of days"},
		{"week", 0, "want a duration"},
	} {
		var v dayDuration
		err := v.Set(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Set(%q) = %v, want an error containing %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("Set(%q): %v", tc.in, err)
		case tc.err == "" && v.d != tc.want:
			t.Errorf("Set(%q) = %v, want %v", tc.in, v.d, tc.want)
		}
	}
	if s := (&dayDuration{d: 30 * 24 * time.Hour}).String(); s != "30d" {
		t.Errorf("String() = %q, want 30d", s)
	}
	if s := (&dayDuration{d: 90 * time.Minute}).String(); s != "1h30m0s" {
		t.Errorf("String() = %q, want 1h30m0s", s)
	}
}

// topicConfig returns the value of config name of topic.
func topicConfig(t *testing.T, ctx context.Context, adm *kadm.Client, topic, name string) string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		t.Fatalf("describe %s: %v", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == name {
			return c.MaybeValue()
		}
	}
	return ""
}

// TestSetRetention runs on Apache Kafka too: dev sets retention.ms of the
// expiring topics at every start, and leaves the others alone.
func TestSetRetention(t *testing.T) {
	k := brokertest.Kafka(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topics := codecs.NewTopics(strings.TrimSuffix(k.Prefix, "-"), "invoice")
	if err := kafka.EnsureTopics(ctx, cl, topics, kafka.TopicSpec{Partitions: 2, Replication: -1, NoCompaction: !k.Real}); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	r := retention{Commands: 10 * time.Minute, Results: 90 * time.Second, DLQ: time.Hour}
	if err := setRetention(ctx, cl, topics, r, !k.Real); err != nil {
		t.Fatal(err)
	}
	// Apache Kafka shows an altered config a moment after answering.
	want := map[string]string{topics.Commands: "600000", topics.Results: "90000", topics.DLQ: "3600000", topics.Events: "-1", topics.Table: "-1"}
	deadline := time.Now().Add(30 * time.Second)
	for topic, ms := range want {
		for {
			got := topicConfig(t, ctx, adm, topic, "retention.ms")
			if got == ms {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: retention.ms %q, want %q", topic, got, ms)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !k.Real {
		if got := topicConfig(t, ctx, adm, topics.Results, "segment.bytes"); got != fmt.Sprint(deletableSegmentBytes) {
			t.Errorf("segment.bytes of %s on the embedded broker: %q, want %d", topics.Results, got, deletableSegmentBytes)
		}
	}
}

// segmentBytes sums the sizes of the segment files of topic in the
// broker data directory dir.
func segmentBytes(t *testing.T, dir, topic string) (files int, size int64) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "partitions"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(filepath.Base(filepath.Dir(path)), topic+"-") || filepath.Ext(path) != ".dat" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		size += info.Size()
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files, size
}

// TestEmbeddedBrokerRetentionFreesRecords: records older than a topic's
// retention.ms are deleted by the embedded broker itself (kfake alone does
// so only on an hourly tick): the log start offset passes them, which
// drops their batches from kfake's in-memory index, and their segment
// files leave the disk; a topic that keeps everything keeps them.
func TestEmbeddedBrokerRetentionFreesRecords(t *testing.T) {
	dir := t.TempDir()
	b, err := embedded.Start(embedded.Config{Dir: dir, Listen: "127.0.0.1:0", RetentionCheck: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.ListenAddrs()...), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topics := codecs.NewTopics("", "invoice")
	if err := kafka.EnsureTopics(ctx, cl, topics, kafka.TopicSpec{Partitions: 2, NoCompaction: true}); err != nil {
		t.Fatal(err)
	}
	// Results expire after a second; the commands topic keeps a day.
	if err := setRetention(ctx, cl, topics, retention{Commands: 24 * time.Hour, Results: time.Second, DLQ: time.Hour}, true); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	value := strings.Repeat("r", 1000)
	for _, topic := range []string{topics.Results, topics.Commands} {
		recs := make([]*kgo.Record, n)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%50), Value: []byte(value)}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if files, size := segmentBytes(t, dir, topics.Results); files == 0 || size < n*1000 {
		t.Fatalf("after producing: %d segment files of %d bytes, want %d records' worth", files, size, n)
	}

	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topics.Results, topics.Commands)
	if err != nil {
		t.Fatal(err)
	}
	for {
		starts, err := adm.ListStartOffsets(ctx, topics.Results, topics.Commands)
		if err != nil {
			t.Fatal(err)
		}
		expired := true
		starts.Each(func(o kadm.ListedOffset) {
			if o.Topic == topics.Results {
				end, _ := ends.Lookup(o.Topic, o.Partition)
				expired = expired && o.Offset == end.Offset
			}
		})
		files, size := segmentBytes(t, dir, topics.Results)
		if expired && files == 0 {
			starts.Each(func(o kadm.ListedOffset) {
				if o.Topic == topics.Commands && o.Offset != 0 {
					t.Errorf("%s[%d] starts at %d: records deleted within retention", o.Topic, o.Partition, o.Offset)
				}
			})
			if files, size := segmentBytes(t, dir, topics.Commands); size < n*1000 {
				t.Errorf("%s: %d segment files of %d bytes left, want its %d records", topics.Commands, files, size, n)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: records still there a minute after their retention (%d segment files, %d bytes; start offsets %v)", topics.Results, files, size, starts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The log goes on after the expiry, from the same offsets.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Results, Key: []byte("k0"), Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if files, _ := segmentBytes(t, dir, topics.Results); files != 1 {
		t.Errorf("after a new record: %d segment files, want 1", files)
	}
}

// TestTopicsEnsureSetsRetentionWhenAsked: `topics ensure` leaves an
// existing topic's retention alone unless a retention flag is given.
func TestTopicsEnsureSetsRetentionWhenAsked(t *testing.T) {
	k := brokertest.Kafka(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := kadm.NewClient(cl)
	prefix := strings.TrimSuffix(k.Prefix, "-")
	if prefix == "" {
		prefix = "ensure"
	}
	topics := codecs.NewTopics(prefix, "invoice")
	ensure := func(extra ...string) {
		t.Helper()
		args := append([]string{"topics", "ensure", "--brokers", strings.Join(k.Brokers, ","), "--prefix", prefix, "--partitions", "2", "--replication", "-1"}, extra...)
		if !k.Real {
			args = append(args, "--no-compaction")
		}
		var out, errOut strings.Builder
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s%s", args, code, out.String(), errOut.String())
		}
	}
	waitFor := func(topic, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for got := ""; ; time.Sleep(100 * time.Millisecond) {
			if got = topicConfig(t, ctx, adm, topic, "retention.ms"); got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: retention.ms %q, want %q", topic, got, want)
			}
		}
	}
	ensure()
	waitFor(topics.Results, "86400000")
	ensure("--results-retention", "2h")
	waitFor(topics.Results, "7200000")
	waitFor(topics.Commands, "604800000")
	ensure()
	waitFor(topics.Results, "7200000")
}
