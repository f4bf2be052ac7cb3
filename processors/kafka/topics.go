package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/b2dc4357/sourced/codecs"
)

// TopicSpec says how the topics of an aggregate are created.
type TopicSpec struct {
	// Partitions of every topic. Default: 8.
	Partitions int32
	// Replication factor. Default: 1 (-1 lets the broker choose).
	Replication int16
	// MinInsyncReplicas sets min.insync.replicas on every topic: with the
	// acks from all in-sync replicas that sourced's producers ask for, a
	// write then fails (NOT_ENOUGH_REPLICAS) rather than succeed on fewer
	// copies. Default: 0, the broker's default (1). At most Replication.
	MinInsyncReplicas int
	// NoCompaction creates table topics with cleanup.policy=delete and
	// infinite retention instead of compaction: for brokers that ignore
	// min.compaction.lag.ms (the embedded one), so the publisher can never
	// miss a step.
	NoCompaction bool
}

// topicConfig is one topic's desired configuration.
type topicConfig struct {
	name    string
	configs map[string]string
}

const (
	day  = 24 * time.Hour
	week = 7 * day
)

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// topicConfigs returns the topics of t with the configs of DESIGN.md.
func topicConfigs(t codecs.Topics, spec TopicSpec) []topicConfig {
	table := map[string]string{"cleanup.policy": "compact", "min.compaction.lag.ms": ms(week), "retention.ms": "-1"}
	if spec.NoCompaction {
		table = map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}
	}
	tcs := []topicConfig{
		{t.Commands, map[string]string{"cleanup.policy": "delete", "retention.ms": ms(week)}},
		{t.Table, table},
		{t.Events, map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}},
		{t.Results, map[string]string{"cleanup.policy": "delete", "retention.ms": ms(day)}},
		{t.DLQ, map[string]string{"cleanup.policy": "delete", "retention.ms": ms(30 * day)}},
		{t.PublisherTable, maps.Clone(table)},
	}
	if spec.MinInsyncReplicas > 0 {
		for _, tc := range tcs {
			tc.configs["min.insync.replicas"] = strconv.Itoa(spec.MinInsyncReplicas)
		}
	}
	return tcs
}

// TopicMismatchError reports an existing topic whose shape differs from what
// sourced needs.
type TopicMismatchError struct {
	Topic string
	// Field is "partitions" or a config name such as "cleanup.policy".
	Field     string
	Want, Got string
}

func (e *TopicMismatchError) Error() string {
	return fmt.Sprintf("topic %s: %s is %s, want %s", e.Topic, e.Field, e.Got, e.Want)
}

// ErrTopicMissing is wrapped by CheckTopics for a topic that does not exist.
var ErrTopicMissing = errors.New("kafka: topic missing")

// EnsureTopics creates the missing topics of t with their configs and
// verifies the existing ones: a partition count other than spec.Partitions
// or another cleanup.policy is an error (*TopicMismatchError), joined with
// every other problem found.
func EnsureTopics(ctx context.Context, cl *kgo.Client, t codecs.Topics, spec TopicSpec) error {
	adm := kadm.NewClient(cl)
	if spec.Partitions == 0 {
		spec.Partitions = 8
	}
	if spec.Replication == 0 {
		spec.Replication = 1
	}
	if err := checkReplication(ctx, cl, spec); err != nil {
		return err
	}
	var errs []error
	var created []string
	for _, tc := range topicConfigs(t, spec) {
		configs := make(map[string]*string, len(tc.configs))
		for k, v := range tc.configs {
			configs[k] = &v
		}
		resp, err := adm.CreateTopic(ctx, spec.Partitions, spec.Replication, configs, tc.name)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			created = append(created, tc.name)
		case !errors.Is(err, kerr.TopicAlreadyExists):
			errs = append(errs, fmt.Errorf("create topic %s: %w", tc.name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := waitTopics(ctx, cl, created); err != nil {
		return err
	}
	_, err := checkTopics(ctx, cl, t, spec.Partitions, spec)
	return err
}

// checkReplication refuses a replication factor above the cluster's broker
// count, or a min.insync.replicas above the replication factor, before
// anything is created.
func checkReplication(ctx context.Context, cl *kgo.Client, spec TopicSpec) error {
	if spec.MinInsyncReplicas < 0 {
		return fmt.Errorf("min.insync.replicas %d: must not be negative", spec.MinInsyncReplicas)
	}
	if spec.Replication > 0 && spec.MinInsyncReplicas > int(spec.Replication) {
		return fmt.Errorf("min.insync.replicas %d exceeds the replication factor %d: no write could ever be acknowledged",
			spec.MinInsyncReplicas, spec.Replication)
	}
	if spec.Replication <= 1 {
		return nil
	}
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("list brokers: %w", err)
	}
	if n := len(md.Brokers); int(spec.Replication) > n {
		return fmt.Errorf("replication factor %d exceeds the %d broker(s) of the cluster", spec.Replication, n)
	}
	return nil
}

// CheckTopics verifies that every topic of t exists, that the co-partitioned
// topics agree on their partition count, and that table topics are
// compacted or (embedded brokers) never deleted. It returns the partition
// count. Roles call it before they start.
func CheckTopics(ctx context.Context, cl *kgo.Client, t codecs.Topics) (int32, error) {
	return checkTopics(ctx, cl, t, 0, TopicSpec{})
}

func checkTopics(ctx context.Context, cl *kgo.Client, t codecs.Topics, want int32, spec TopicSpec) (int32, error) {
	adm := kadm.NewClient(cl)
	names := t.All()
	details, err := FreshMetadata(ctx, cl, names...)
	if err != nil {
		return 0, fmt.Errorf("list topics: %w", err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return 0, fmt.Errorf("describe topic configs: %w", err)
	}
	var errs []error
	for _, name := range t.CoPartitioned() {
		d, ok := details[name]
		if !ok || d.Err != nil {
			continue // reported below
		}
		if want == 0 {
			want = int32(len(d.Partitions))
		}
	}
	for _, tc := range topicConfigs(t, spec) {
		d, ok := details[tc.name]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("%w: %s (create it with `sourced topics ensure`)", ErrTopicMissing, tc.name))
			continue
		}
		if d.Err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", tc.name, d.Err))
			continue
		}
		if got := int32(len(d.Partitions)); want != 0 && got != want && tc.name != t.DLQ {
			errs = append(errs, &TopicMismatchError{Topic: tc.name, Field: "partitions", Want: strconv.Itoa(int(want)), Got: strconv.Itoa(int(got))})
		}
		rc, err := configs.On(tc.name, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("topic %s configs: %w", tc.name, err))
			continue
		}
		policy, retention, minISR := "delete", "", ""
		for _, c := range rc.Configs {
			switch c.Key {
			case "cleanup.policy":
				policy = c.MaybeValue()
			case "retention.ms":
				retention = c.MaybeValue()
			case "min.insync.replicas":
				minISR = c.MaybeValue()
			}
		}
		if want := tc.configs["min.insync.replicas"]; want != "" && minISR != want {
			errs = append(errs, &TopicMismatchError{Topic: tc.name, Field: "min.insync.replicas", Want: want, Got: minISR})
		}
		isTable := tc.name == t.Table || tc.name == t.PublisherTable
		switch {
		case isTable && !strings.Contains(policy, "compact") && retention != "-1":
			errs = append(errs, &TopicMismatchError{Topic: tc.name, Field: "cleanup.policy", Want: "compact (or delete with retention.ms=-1)", Got: policy + " with retention.ms=" + retention})
		case isTable && spec.Partitions != 0 && !spec.NoCompaction && !strings.Contains(policy, "compact"):
			errs = append(errs, &TopicMismatchError{Topic: tc.name, Field: "cleanup.policy", Want: "compact", Got: policy})
		case !isTable && strings.Contains(policy, "compact"):
			errs = append(errs, &TopicMismatchError{Topic: tc.name, Field: "cleanup.policy", Want: "delete", Got: policy})
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return want, errors.Join(errs...)
}

// waitTopics waits until the broker's metadata shows every topic in names
// with a leader for each partition, and the leaders answer ListOffsets for
// every partition. Apache Kafka answers CreateTopics once the controller
// committed the topics, and brokers learn of them from the metadata log a
// moment later: a check or a role started right after would see them
// missing (the embedded broker creates topics synchronously). A broker's
// metadata can also name it leader a moment before it serves the
// partition: goka's first offset request then fails with
// NOT_LEADER_OR_FOLLOWER and the processor stops.
func waitTopics(ctx context.Context, cl *kgo.Client, names []string) error {
	if len(names) == 0 {
		return nil
	}
	for {
		pending, err := topicsNotReady(ctx, cl, names)
		if err == nil && len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("no leader yet for %s", strings.Join(pending, ", "))
			}
			return fmt.Errorf("wait for created topics: %w (%w)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// topicsNotReady returns the topics of names that the broker's metadata
// lacks or lists with a partition without a leader, or that have a
// partition whose leader does not answer ListOffsets yet.
func topicsNotReady(ctx context.Context, cl *kgo.Client, names []string) ([]string, error) {
	resp, err := requestMetadata(ctx, cl, names)
	if err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode != 0 || len(t.Partitions) == 0 {
			continue
		}
		ok := true
		for _, p := range t.Partitions {
			ok = ok && p.ErrorCode == 0 && p.Leader >= 0
		}
		ready[*t.Topic] = ok
	}
	var pending, led []string
	for _, n := range names {
		if ready[n] {
			led = append(led, n)
		} else {
			pending = append(pending, n)
		}
	}
	if len(led) == 0 {
		return pending, nil
	}
	listed, err := kadm.NewClient(cl).ListStartOffsets(ctx, led...)
	if err != nil {
		return nil, err
	}
	for _, n := range led {
		for _, o := range listed[n] {
			if o.Err != nil {
				pending = append(pending, n)
				break
			}
		}
	}
	return pending, nil
}

// TopicMetadata is what FreshMetadata learns of one topic.
type TopicMetadata struct {
	// ID is the topic's id, zero when the broker did not say.
	ID kadm.TopicID
	// Partitions holds the topic's partition numbers.
	Partitions map[int32]bool
	// Err is the broker's error for the topic, nil when none
	// (kerr.UnknownTopicOrPartition for a missing topic).
	Err error
}

// FreshMetadata asks the broker for the metadata of topics, bypassing the
// client's metadata cache, which can be stale for seconds after a topic was
// created or deleted.
func FreshMetadata(ctx context.Context, cl *kgo.Client, topics ...string) (map[string]TopicMetadata, error) {
	resp, err := requestMetadata(ctx, cl, topics)
	if err != nil {
		return nil, err
	}
	out := make(map[string]TopicMetadata, len(resp.Topics))
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		md := TopicMetadata{ID: t.TopicID, Partitions: map[int32]bool{}, Err: kerr.ErrorForCode(t.ErrorCode)}
		for _, p := range t.Partitions {
			md.Partitions[p.Partition] = true
		}
		out[*t.Topic] = md
	}
	return out, nil
}

// requestMetadata asks the broker for the metadata of topics directly,
// bypassing the client's metadata cache.
func requestMetadata(ctx context.Context, cl *kgo.Client, topics []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	return req.RequestWith(ctx, cl)
}
