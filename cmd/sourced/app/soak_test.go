package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/processorstest"
	"github.com/b2dc4357/sourced/processors/profile"
)

// child is a sourced process that can be killed and restarted.
type child struct {
	t    *testing.T
	args []string
	env  []string
	log  string
	cmd  *exec.Cmd
}

func newChild(t *testing.T, env []string, args ...string) *child {
	c := &child{t: t, args: args, env: env, log: filepath.Join(t.TempDir(), "child.log")}
	c.start()
	t.Cleanup(func() {
		if c.cmd != nil && c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
		b, _ := os.ReadFile(c.log)
		if t.Failed() {
			t.Logf("%v log (tail):\n%s", args, tail(b, 3000))
		}
		if d := os.Getenv("SOURCED_SOAK_LOGS"); d != "" {
			_ = os.WriteFile(filepath.Join(d, filepath.Base(filepath.Dir(c.log))+".log"), b, 0o644)
		}
	})
	return c
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (c *child) start() {
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	c.cmd = exec.Command(binary, c.args...)
	c.cmd.Env = append(os.Environ(), c.env...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// signal sends sig (SIGSTOP, SIGCONT) to the child.
func (c *child) signal(sig syscall.Signal) {
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("%v to %v: %v", sig, c.args, err)
	}
}

func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	return c.cmd.Wait()
}

// TestSoakReplicasSurviveKillsAndBrokerRestart runs `sourced broker`, three
// processor replicas and a publisher of the profile aggregate as child
// processes, sends 20,000 commands over 2,000 profiles while SIGKILLing a
// random replica every few seconds, pausing another (SIGSTOP) past its
// session timeout and resuming it, and restarting the broker itself, and
// then checks every guarantee: each command has a result, the events hold
// versions 1..N per profile with identical duplicates, and every snapshot
// (read as every reader reads the table: a deposed owner's late writes
// dropped) equals the fold of its events.
//
// It is opt-in (SOURCED_SOAK=1) because of its size; CI runs the smaller
// TestSoakSmall with the same kills. SOURCED_SOAK_BROKER_RESTART chooses
// the broker restart: 1 (clean stop), kill (SIGKILL), both (a clean
// restart, then a SIGKILL), empty (none). SOURCED_SOAK_LOGS=DIR keeps the
// children's logs; SOURCED_LOG_LEVEL=debug adds goka's.
//
// Measured on 2026-12-07 on 2 shared cores, with the pause and fencing,
// SOURCED_SOAK_BROKER_RESTART=both: 20 of 20 runs on the embedded broker
// and 10 of 10 on Apache Kafka, twice (every command answered 4.6-11.9 s
// and 7.4-16.1 s after the last kill; five runs dropped 124 to 404 stale
// snapshots of the paused replica).
//
// Measured on 2026-11-30 on 2 shared cores with the embedded broker's
// janitor (broker.Broker): SOURCED_SOAK_BROKER_RESTART=kill passed 10 of
// 10 runs, both 22 of 23, 1 3 of 3, and TestSoakSmall 10 of 10 (and 5 of
// 5 under -race); every command was answered 10-31 s after the last kill,
// once after a replica waited out a 40 s read timeout. The one failure
// (both): every command answered, but the events stayed incomplete for 2
// minutes, cause not found (the report of the groups was added after
// it). Without the janitor, the same kill runs stalled in 2 of 6: a
// replica SIGKILLed while it waited in JoinGroup stayed a member of the
// Stable group for ever, holding partitions nobody consumed; with
// eviction alone, 3 of 8 runs took about 60 s, their replicas expired
// while they waited in JoinGroup and their joins never answered (a 40 s
// read timeout each).
func TestSoakReplicasSurviveKillsAndBrokerRestart(t *testing.T) {
	if os.Getenv("SOURCED_SOAK") == "" {
		t.Skip("the full-size soak is opt-in (SOURCED_SOAK=1); TestSoakSmall runs the same kills on fewer commands")
	}
	runSoak(t, soakSize{profiles: 2000, perProfile: 10, slice: 150}, os.Getenv("SOURCED_SOAK_BROKER_RESTART"))
}

// TestSoakSmall is the soak sized for CI: 5,000 commands over 500
// profiles, the same replica SIGKILLs and pause, and the broker restarted
// cleanly once and SIGKILLed once (the second start must not reuse the producer
// state saved at the first stop).
func TestSoakSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	runSoak(t, soakSize{profiles: 500, perProfile: 10, slice: 40}, "both")
}

// soakSession is the replicas' session timeout in the soak.
const soakSession = 6 * time.Second

// soakSize sizes a soak: perProfile commands to each of profiles
// profiles, produced in slices of slice commands, one slice about every
// 120 ms: at least 125 slices make traffic last through every kill.
type soakSize struct{ profiles, perProfile, slice int }

// runSoak runs the soak; brokerRestart is "", "1" (clean), "kill" or
// "both" (clean, then SIGKILL).
func runSoak(t *testing.T, size soakSize, brokerRestart string) {
	profiles, perProfile := size.profiles, size.perProfile
	dataDir := t.TempDir()
	// The broker process itself is SIGKILLed: on the real stack, a
	// dedicated Apache Kafka.
	k := ownTestKafka(t, dataDir)
	listen, env := k.brokers, k.env()
	if code, out := runSourced(t, listen, k.ensureArgs(6)...); code != 0 {
		t.Fatalf("topics ensure: %s", out)
	}
	var replicas []*child
	for i := 0; i < 3; i++ {
		// The shortest session both brokers accept by default, so that a
		// pause of a few seconds deposes a replica.
		replicas = append(replicas, newChild(t, env, "run", "processor", "--aggregate", "profile", "--http", "off",
			"--session-timeout", soakSession.String(), "--data-dir", filepath.Join(dataDir, fmt.Sprint("replica-", i))))
	}
	publisher := newChild(t, env, "run", "publisher", "--aggregate", "profile", "--http", "off", "--data-dir", filepath.Join(dataDir, "publisher"))

	cl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.RecordPartitioner(kafka.Partitioner()),
		kgo.ProducerLinger(5*time.Millisecond), kgo.RecordRetries(1000), kgo.RequestRetries(1000))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics := k.topics(profile.Name)

	// Commands: each profile gets perProfile follow/username commands.
	var cmds []*kgo.Record
	var ids []string
	for step := 0; step < perProfile; step++ {
		for p := 0; p < profiles; p++ {
			c := &codecs.Command{ID: fmt.Sprintf("p%d-s%d", p, step), Aggregate: profile.Name, AggregateID: fmt.Sprintf("u-%d", p),
				Type: "Follow", Data: json.RawMessage(fmt.Sprintf(`{"user_id":"v-%d"}`, step)), IssuedAt: time.Date(2026, 11, 1, 0, step, 0, 0, time.UTC)}
			if step%3 == 2 {
				c.Type, c.Data = "SetUsername", json.RawMessage(fmt.Sprintf(`{"username":"name-%d"}`, step))
			}
			b, err := codecs.CommandCodec{}.Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, &kgo.Record{Topic: topics.Commands, Key: []byte(c.AggregateID), Value: b})
			ids = append(ids, c.ID)
		}
	}

	results := map[string]int{}
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.ConsumeTopics(topics.Results), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequestRetries(1000))
	if err != nil {
		t.Fatal(err)
	}
	defer rcl.Close()
	go func() {
		for ctx.Err() == nil {
			rcl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				var res codecs.Result
				if json.Unmarshal(r.Value, &res) == nil {
					mu.Lock()
					results[res.CommandID]++
					mu.Unlock()
				}
			})
		}
	}()
	answered := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, id := range ids {
			if results[id] > 0 {
				n++
			}
		}
		return n
	}

	// Produce in the background in slices, so kills land mid-stream.
	produced := make(chan error, 1)
	go func() {
		// About 12 s of traffic, so that every kill lands mid-stream.
		for i := 0; i < len(cmds); i += size.slice {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Minute)
			err := cl.ProduceSync(pctx, cmds[i:min(i+size.slice, len(cmds))]...).FirstErr()
			pcancel()
			if err != nil {
				produced <- err
				return
			}
			time.Sleep(120 * time.Millisecond)
		}
		produced <- nil
	}()

	// Which replica each round kills: SOURCED_SOAK_SEED replays a run.
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SOURCED_SOAK_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("SOURCED_SOAK_SEED=%q: %v", v, err)
		}
	}
	t.Logf("SOURCED_SOAK_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	var lastKill time.Time
	// Four rounds, 3 s apart, each SIGKILLs a replica; the broker
	// restarts in the second round (kill, 1) or cleanly in the second and
	// by SIGKILL in the third (both). A replica killed after the broker
	// restart is likely to die while it waits in JoinGroup.
	//
	// Meanwhile one replica is paused (SIGSTOP) from round 0 to round 3,
	// past its session timeout, and resumed (SIGCONT): the others take its
	// partitions, and what it delivers when it wakes is fenced (DESIGN.md
	// guarantee 7).
	paused := replicas[rng.IntN(len(replicas))]
	for round := 0; round < 4; round++ {
		time.Sleep(3 * time.Second)
		if round == 0 {
			paused.signal(syscall.SIGSTOP)
		}
		if round == 3 {
			paused.signal(syscall.SIGCONT)
		}
		r := replicas[rng.IntN(len(replicas))]
		for r == paused && round < 3 {
			r = replicas[rng.IntN(len(replicas))]
		}
		r.kill()
		r.start()
		// The broker itself stops or crashes and comes back on its data
		// dir; every role reconnects by itself.
		clean := round == 1 && (brokerRestart == "1" || brokerRestart == "both")
		crash := (round == 1 && brokerRestart == "kill") || (round == 2 && brokerRestart == "both")
		if clean || crash {
			k.restart(t, crash)
		}
		lastKill = time.Now()
	}
	select {
	case err := <-produced:
		t.Fatalf("all commands were produced before the last kill (%v): the soak did not kill mid-stream", err)
	default:
	}
	if err := <-produced; err != nil {
		t.Fatalf("produce: %v", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	progress, progressAt := answered(), time.Now()
	for answered() < len(ids) {
		if n := answered(); n > progress {
			progress, progressAt = n, time.Now()
		} else if time.Since(progressAt) > 10*time.Second {
			t.Logf("%s: no command answered for 10 s, %d of %d answered\n%s", time.Now().Format(time.StampMilli), n, len(ids),
				groupReport(listen, topics.Group, topics.PublisherGroup))
			progressAt = time.Now()
		}
		if time.Now().After(deadline) {
			mu.Lock()
			var missing []string
			for _, id := range ids {
				if results[id] == 0 {
					missing = append(missing, id)
				}
			}
			mu.Unlock()
			inCommands := 0
			want := map[string]bool{}
			for _, id := range missing {
				want[id] = true
			}
			parts := map[int32]int{}
			for _, r := range readTopic(t, listen, topics.Commands) {
				var c codecs.Command
				if json.Unmarshal(r.Value, &c) == nil && want[c.ID] {
					inCommands++
					parts[r.Partition]++
				}
			}
			t.Fatalf("only %d of %d commands answered; of the %d missing (%v...), %d are in the commands topic, by partition %v\n%s",
				answered(), len(ids), len(missing), missing[:min(5, len(missing))], inCommands, parts,
				groupReport(listen, topics.Group, topics.PublisherGroup))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if k.broker != nil {
		brokerLog, _ := os.ReadFile(k.broker.log)
		t.Logf("every command answered %v after the last kill; the broker evicted %d silent group members",
			time.Since(lastKill).Round(100*time.Millisecond), bytes.Count(brokerLog, []byte("evicting a group member")))
	} else {
		t.Logf("every command answered %v after the last kill (Apache Kafka)", time.Since(lastKill).Round(100*time.Millisecond))
	}

	// Wait until the publisher has published every step, then stop all.
	var events map[string][]codecs.Event
	deadline = time.Now().Add(2 * time.Minute)
	for {
		events = readEvents(t, listen, topics.Events)
		if len(events) == profiles && complete(events, perProfile) {
			break
		}
		if time.Now().After(deadline) {
			counts := map[int]int{}
			var example string
			for id, es := range events {
				counts[len(es)]++
				if len(es) != perProfile && example == "" {
					example = fmt.Sprintf("%s has %d", id, len(es))
				}
			}
			t.Fatalf("events incomplete: %d profiles; profiles by event count %v (want %d each; %s)\n%s", len(events), counts, perProfile, example,
				groupReport(listen, topics.Group, topics.PublisherGroup))
		}
		time.Sleep(time.Second)
	}
	// Stop in a steady state: every replica is a member of the settled
	// group (a replica stopped while its join hangs on the embedded broker
	// exits with the join's error; see the README).
	waitGroupStable(t, listen, topics.Group, len(replicas))
	for _, r := range replicas {
		if err := r.stop(); err != nil {
			t.Errorf("replica did not stop cleanly: %v", err)
		}
	}
	if err := publisher.stop(); err != nil {
		t.Errorf("publisher did not stop cleanly: %v", err)
	}

	agg := profile.New()
	table := processorstest.ReadTable(t, []string{listen}, topics.Table)
	t.Logf("table: %d stale snapshots of deposed owners dropped; without fencing %d profiles would regress", table.Stale, table.Regressed)
	latest := table.Latest
	for id, es := range events {
		s := latest[id]
		if s.Version != uint64(len(es)) {
			t.Fatalf("%s: snapshot at v%d, events up to v%d", id, s.Version, len(es))
		}
		folded, err := agg.FoldState(es)
		if err != nil {
			t.Fatalf("fold %s: %v", id, err)
		}
		st, err := agg.DecodeState(s.Schema, s.State)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(folded, st); diff != "" {
			t.Fatalf("%s: snapshot differs from the fold of its events:\n%s", id, diff)
		}
	}
}

// complete reports whether every profile has all its events: seven
// follows of distinct users and three different usernames, one event each.
func complete(events map[string][]codecs.Event, perProfile int) bool {
	want := -1
	for _, es := range events {
		if want < 0 {
			want = len(es)
		}
		if len(es) != want {
			return false
		}
	}
	return want == perProfile
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := (&netDialer{}).dial(addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readTopic returns every record of topic up to its end offsets.
func readTopic(t *testing.T, brokers, topic string) []*kgo.Record {
	t.Helper()
	return processorstest.ReadTopic(t, []string{brokers}, topic)
}

// readEvents reads the events topic and checks that duplicates are
// identical; it returns, per aggregate, the gapless prefix of versions.
func readEvents(t *testing.T, brokers, topic string) map[string][]codecs.Event {
	t.Helper()
	first := map[string]map[uint64][]byte{}
	for _, r := range readTopic(t, brokers, topic) {
		var e codecs.Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("event %q: %v", r.Value, err)
		}
		m := first[e.AggregateID]
		if m == nil {
			m = map[uint64][]byte{}
			first[e.AggregateID] = m
		}
		if prev, ok := m[e.Version]; ok {
			if !bytes.Equal(prev, r.Value) {
				t.Fatalf("duplicate of %s v%d differs:\n%s\n%s", e.AggregateID, e.Version, prev, r.Value)
			}
			continue
		}
		m[e.Version] = r.Value
	}
	out := map[string][]codecs.Event{}
	for id, m := range first {
		for v := uint64(1); ; v++ {
			b, ok := m[v]
			if !ok {
				if len(m) != int(v-1) {
					return nil // a gap, or not yet published
				}
				break
			}
			var e codecs.Event
			_ = json.Unmarshal(b, &e)
			out[id] = append(out[id], e)
		}
	}
	return out
}

type netDialer struct{}

func (netDialer) dial(addr string) (interface{ Close() error }, error) {
	return (&net.Dialer{Timeout: time.Second}).Dial("tcp", addr)
}

// waitGroupStable waits until group is Stable with members members.
func waitGroupStable(t *testing.T, brokers, group string, members int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		described, err := adm.DescribeGroups(ctx, group)
		cancel()
		if err == nil {
			if d, ok := described[group]; ok && d.State == "Stable" && len(d.Members) == members {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s not stable with %d members: %v %v", group, members, described, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// groupReport describes groups for a failure message: state, members
// (client id and assigned partitions), and per partition the committed
// offset, the end offset and the member that holds it.
func groupReport(brokers string, groups ...string) string {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		return err.Error()
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lags, err := kadm.NewClient(cl).Lag(ctx, groups...)
	if err != nil {
		return fmt.Sprintf("lag: %v", err)
	}
	var b bytes.Buffer
	for _, l := range lags.Sorted() {
		fmt.Fprintf(&b, "group %s: state %s, %d members, err %v\n", l.Group, l.State, len(l.Members), l.Error())
		for _, m := range l.Members {
			var parts []string
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, tp := range c.Topics {
					parts = append(parts, fmt.Sprintf("%s%v", tp.Topic, tp.Partitions))
				}
			}
			fmt.Fprintf(&b, "  member %s (%s %s): %v\n", m.MemberID, m.ClientID, m.ClientHost, parts)
		}
		for _, ml := range l.Lag.Sorted() {
			who := "-"
			if ml.Member != nil {
				who = ml.Member.ClientID
			}
			fmt.Fprintf(&b, "  %s/%d: commit %d end %d lag %d by %s err %v\n", ml.Topic, ml.Partition, ml.Commit.At, ml.End.Offset, ml.Lag, who, ml.Err)
		}
	}
	return b.String()
}
