package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
)

func TestOffsetResetRefusesALiveGroupAndAppliesAPlanToAStoppedOne(t *testing.T) {
	k := brokertest.Kafka(t)
	topic, group := k.Prefix+"t", k.Prefix+"g"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if k.Real {
		defer func() {
			_, _ = adm.DeleteTopics(context.Background(), topic)
			_, _ = adm.DeleteGroups(context.Background(), group)
		}()
	}
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: int32(i % 2), Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// A live member consumes everything and commits.
	member, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 10; {
		fs := member.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		n += len(fs.Records())
	}
	if err := member.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	earliest, _ := kafka.ParseOffsetTarget("earliest")
	_, err = kafka.PlanOffsetReset(ctx, adm, group, nil, earliest)
	if !errors.Is(err, kafka.ErrGroupActive) {
		t.Fatalf("plan for a live group: got %v, want ErrGroupActive", err)
	}
	member.Close() // leaves the group

	plan, err := kafka.PlanOffsetReset(ctx, adm, group, nil, earliest)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	plan.Print(&out)
	for _, row := range plan.Rows {
		if row.Current != 5 || row.Next != 0 || row.End != 5 {
			t.Fatalf("plan row %+v, want current 5, new 0, end 5\n%s", row, out.String())
		}
	}
	if !strings.Contains(out.String(), "CURRENT") || len(plan.Rows) != 2 {
		t.Fatalf("plan:\n%s", out.String())
	}
	// Planning commits nothing.
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := committed.Lookup(topic, 0); o.At != 5 {
		t.Fatalf("planning changed the committed offset to %d", o.At)
	}
	if err := kafka.ApplyOffsetPlan(ctx, adm, plan); err != nil {
		t.Fatal(err)
	}
	committed, err = adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 2; p++ {
		if o, _ := committed.Lookup(topic, p); o.At != 0 {
			t.Fatalf("partition %d committed at %d after the reset, want 0", p, o.At)
		}
	}

	// An explicit offset is clamped to the log.
	target, _ := kafka.ParseOffsetTarget("99")
	plan, err = kafka.PlanOffsetReset(ctx, adm, group, []string{topic}, target)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rows[0].Next != 5 {
		t.Fatalf("offset 99 planned as %d, want the log end 5", plan.Rows[0].Next)
	}
	for _, bad := range []string{"", "yesterday", "-1"} {
		if _, err := kafka.ParseOffsetTarget(bad); err == nil {
			t.Errorf("ParseOffsetTarget(%q) accepted", bad)
		}
	}
}
