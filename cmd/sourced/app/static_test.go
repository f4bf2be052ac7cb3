package app

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/profile"
)

// TestStaticMemberRestartsWithoutRebalance runs two processor replicas
// with --instance-id, stops one with SIGTERM and starts it again within
// the session timeout: the group never rebalances. The stopped member
// stays in the group (a static member sends no LeaveGroup), the restarted
// one gets its old partitions back, and the other replica's partitions
// are never closed and reopened (goka's monitor shows the same recovery
// of each), so a rolling restart pauses only the restarted replica's
// partitions. Then commands to every partition are answered.
func TestStaticMemberRestartsWithoutRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const partitions = 4
	dataDir := t.TempDir()
	k := newTestKafka(t, dataDir)
	if code, out := runSourced(t, k.brokers, k.ensureArgs(partitions)...); code != 0 {
		t.Fatalf("topics ensure: %s", out)
	}
	topics := k.topics(profile.Name)
	replica := func(i int) (*child, string) {
		addr := freeAddr(t)
		// A session timeout well above a restart, however slow the machine.
		return newChild(t, k.env(), "run", "processor", "--aggregate", "profile", "--http", addr,
			"--data-dir", filepath.Join(dataDir, fmt.Sprint("replica-", i)),
			"--instance-id", fmt.Sprint("replica-", i), "--session-timeout", "30s"), addr
	}
	_, firstHTTP := replica(0)
	waitGroupStable(t, k.brokers, topics.Group, 1)
	second, secondHTTP := replica(1)
	waitGroupStable(t, k.brokers, topics.Group, 2)

	before := staticMembers(t, k.brokers, topics.Group)
	if len(before) != 2 || len(before["replica-0"].partitions) == 0 || len(before["replica-1"].partitions) == 0 {
		t.Fatalf("members by instance id %v: want replica-0 and replica-1, each with partitions", before)
	}
	firstRecovered := runningPartitions(t, firstHTTP, before["replica-0"].partitions)
	runningPartitions(t, secondHTTP, before["replica-1"].partitions)

	// SIGTERM: a clean stop that leaves the member in the group.
	if err := second.stop(); err != nil {
		t.Fatalf("replica-1 did not stop cleanly: %v", err)
	}
	if during := staticMembers(t, k.brokers, topics.Group); !maps.EqualFunc(during, before, staticMember.equal) {
		t.Fatalf("after replica-1 stopped, the group is %v, want it unchanged %v (a static member does not leave)", during, before)
	}
	second.start()
	runningPartitions(t, secondHTTP, before["replica-1"].partitions)
	after := staticMembers(t, k.brokers, topics.Group)
	if got, want := after["replica-0"], before["replica-0"]; !got.equal(want) {
		t.Errorf("replica-0 after the restart of replica-1: %v, want %v unchanged", got, want)
	}
	if got, want := after["replica-1"], before["replica-1"]; !slices.Equal(got.partitions, want.partitions) || got.member == want.member {
		t.Errorf("replica-1 after its restart: %v, want a new member id with its partitions %v", got, want.partitions)
	}
	if len(after) != 2 {
		t.Errorf("members after the restart: %v", after)
	}
	// replica-0's partitions were never closed and reopened: no rebalance.
	if got := runningPartitions(t, firstHTTP, before["replica-0"].partitions); !maps.EqualFunc(got, firstRecovered, time.Time.Equal) {
		t.Errorf("replica-0's partitions were recovered again (at %v, before %v): the group rebalanced", got, firstRecovered)
	}

	// Every partition answers.
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers), kgo.RecordPartitioner(kafka.Partitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want := map[string]bool{}
	for i := 0; i < 4*partitions; i++ {
		c := &codecs.Command{ID: fmt.Sprint("static-", i), Aggregate: profile.Name, AggregateID: fmt.Sprint("u-", i),
			Type: "SetUsername", Data: json.RawMessage(`{"username":"static"}`)}
		b, err := codecs.CommandCodec{}.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topics.Commands, Key: []byte(c.AggregateID), Value: b}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		want[c.ID] = true
	}
	waitResults(t, ctx, k.brokers, topics.Results, want)
}

// staticMember is a member of a group with static membership.
type staticMember struct {
	member     string
	partitions []int32
}

func (m staticMember) equal(o staticMember) bool {
	return m.member == o.member && slices.Equal(m.partitions, o.partitions)
}

func (m staticMember) String() string { return fmt.Sprintf("%s%v", m.member, m.partitions) }

// staticMembers describes group, which must be Stable, by instance id:
// member id and assigned partitions (of any topic).
func staticMembers(t *testing.T, brokers, group string) map[string]staticMember {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	d := described[group]
	if d.Err != nil || d.State != "Stable" {
		t.Fatalf("group %s: state %s, err %v", group, d.State, d.Err)
	}
	out := map[string]staticMember{}
	for _, m := range d.Members {
		if m.InstanceID == nil {
			t.Fatalf("member %s has no instance id", m.MemberID)
		}
		sm := staticMember{member: m.MemberID}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range c.Topics {
				sm.partitions = append(sm.partitions, tp.Partitions...)
			}
		}
		slices.Sort(sm.partitions)
		out[*m.InstanceID] = sm
	}
	return out
}

// runningPartitions waits until the replica serving goka's monitor on addr
// processes exactly partitions, and returns when each was recovered.
func runningPartitions(t *testing.T, addr string, partitions []int32) map[int32]time.Time {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := fetchTableStats(addr)
		running := map[int32]time.Time{}
		for p, ps := range st.Group {
			if ps.TableStats.RunMode == 0 && ps.TableStats.Status == 5 {
				running[p] = ps.TableStats.Recovery.RecoveryTime
			}
		}
		if err == nil && slices.Equal(slices.Sorted(maps.Keys(running)), partitions) {
			return running
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s runs %v (err %v), want %v", addr, running, err, partitions)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRunRefusesBadMembershipFlags: an instance id Kafka would refuse and
// a session timeout under a second are usage errors, before any
// connection.
func TestRunRefusesBadMembershipFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--instance-id", "replica 1"},
		{"--session-timeout", "100ms"},
	} {
		code, out := runSourced(t, "127.0.0.1:1", append([]string{"run", "processor", "--aggregate", "profile", "--http", "off"}, args...)...)
		if code != exitUsage || !strings.Contains(out, args[0]) {
			t.Errorf("run processor %v: exit %d, %s; want a usage error naming %s", args, code, out, args[0])
		}
	}
}
