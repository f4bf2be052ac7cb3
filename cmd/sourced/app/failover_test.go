package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/profile"
)

// TestFailover measures, with three `sourced run processor` replicas and a
// publisher of the profile aggregate on six partitions and steady command
// traffic to every partition, (kill) the time from the SIGKILL of a
// replica until each of its partitions answers a command again, with and
// without --standby, and (restart) the longest pause of the other
// replicas' partitions while one replica is stopped with SIGTERM and
// started again, with dynamic membership and with --instance-id (static
// membership). It prints the figures and asserts nothing about them.
//
// Opt-in, as it takes minutes: SOURCED_FAILOVER=1 (and
// SOURCED_FAILOVER_ROUNDS, default 3). With the real stack's environment
// (scripts/realstack status) it runs on Apache Kafka, otherwise on the
// embedded broker:
//
//	SOURCED_FAILOVER=1 go test -run TestFailover -v -timeout 60m ./cmd/sourced/app
func TestFailover(t *testing.T) {
	if os.Getenv("SOURCED_FAILOVER") == "" {
		t.Skip("measures failover for minutes: opt-in with SOURCED_FAILOVER=1")
	}
	rounds := 3
	if v := os.Getenv("SOURCED_FAILOVER_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SOURCED_FAILOVER_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	t.Run("kill", func(t *testing.T) { measureKill(t, rounds, false) })
	t.Run("kill-standby", func(t *testing.T) { measureKill(t, rounds, true) })
	t.Run("restart-dynamic", func(t *testing.T) { measureRestart(t, rounds, false) })
	t.Run("restart-static", func(t *testing.T) { measureRestart(t, rounds, true) })
}

// measureKill SIGKILLs a replica per round and measures how long each of
// its partitions goes unanswered.
func measureKill(t *testing.T, rounds int, standby bool) {
	var extra []string
	if standby {
		extra = append(extra, "--standby")
	}
	r := newFailoverRig(t, func(int) []string { return extra })
	var all, others []time.Duration
	for round := 0; round < rounds; round++ {
		r.waitSteady()
		victim := round % len(r.replicas)
		owners := r.owners()
		lost := owners[victim]
		killed := time.Now()
		r.replicas[victim].kill()
		r.waitAnswered(lost, killed, 2*time.Minute)
		// The survivors' partitions pause too: every rebalance closes and
		// reopens every partition of every member.
		r.waitSteadyFor(len(r.replicas)-1, 2)
		// The longest gap, not the first result after the kill: results
		// the victim wrote just before it died still arrive for a few ms.
		var took []time.Duration
		for _, p := range lost {
			took = append(took, r.longestGap(p, killed, time.Now()))
		}
		all = append(all, took...)
		var other []time.Duration
		for p := int32(0); p < failoverPartitions; p++ {
			if !slices.Contains(lost, p) {
				other = append(other, r.longestGap(p, killed, time.Now()))
			}
		}
		others = append(others, slices.Max(other))
		t.Logf("round %d: killed replica %d owning %v: answered again after %v; the survivors' partitions paused up to %v",
			round, victim, lost, roundAll(took), slices.Max(other).Round(100*time.Millisecond))
		r.replicas[victim].start()
	}
	t.Logf("SUMMARY kill standby=%v kafka=%s: failover of the killed replica's partitions median %v max %v (%d partitions over %d rounds); survivors paused median %v max %v",
		standby, r.broker(), median(all), slices.Max(all).Round(100*time.Millisecond), len(all), rounds, median(others), slices.Max(others).Round(100*time.Millisecond))
}

// measureRestart stops a replica with SIGTERM and starts it again per
// round, and measures the longest pause of the other replicas' partitions
// from the stop until the group is settled again.
func measureRestart(t *testing.T, rounds int, static bool) {
	r := newFailoverRig(t, func(i int) []string {
		if static {
			return []string{"--instance-id", fmt.Sprintf("replica-%d", i)}
		}
		return nil
	})
	var others, own []time.Duration
	for round := 0; round < rounds; round++ {
		r.waitSteady()
		victim := round % len(r.replicas)
		owners := r.owners()
		stopped := time.Now()
		if err := r.replicas[victim].stop(); err != nil {
			t.Errorf("replica %d did not stop cleanly: %v", victim, err)
		}
		stoppedIn := time.Since(stopped)
		r.replicas[victim].start()
		r.waitSteadyFor(len(r.replicas), 5)
		end := time.Now()
		var other, mine []time.Duration
		for i, ps := range owners {
			for _, p := range ps {
				if i == victim {
					mine = append(mine, r.longestGap(p, stopped, end))
				} else {
					other = append(other, r.longestGap(p, stopped, end))
				}
			}
		}
		others = append(others, slices.Max(other))
		own = append(own, slices.Max(mine))
		t.Logf("round %d: replica %d stopped in %v and restarted; the others' partitions paused up to %v (each %v); its own up to %v",
			round, victim, stoppedIn.Round(100*time.Millisecond), slices.Max(other).Round(100*time.Millisecond), roundAll(other), slices.Max(mine).Round(100*time.Millisecond))
	}
	t.Logf("SUMMARY restart static=%v kafka=%s: the other replicas' partitions paused median %v max %v (worst per round, %d rounds); the restarted replica's own median %v max %v",
		static, r.broker(), median(others), slices.Max(others).Round(100*time.Millisecond), rounds, median(own), slices.Max(own).Round(100*time.Millisecond))
}

const (
	failoverPartitions = 6
	failoverReplicas   = 3
	// failoverTick is the interval of the traffic: one command to every
	// partition per tick.
	failoverTick = 50 * time.Millisecond
)

// failoverRig is the deployment measured: the Kafka, the replicas (each
// serving goka's monitor on its own address), a publisher, the traffic,
// and per partition the arrival times of its results.
type failoverRig struct {
	t        *testing.T
	k        testKafka
	topics   codecs.Topics
	replicas []*child
	http     []string

	mu   sync.Mutex
	seen map[int32][]time.Time
	keys map[string]int32
}

func newFailoverRig(t *testing.T, replicaArgs func(i int) []string) *failoverRig {
	dataDir := t.TempDir()
	k := newTestKafka(t, dataDir)
	if code, out := runSourced(t, k.brokers, k.ensureArgs(failoverPartitions)...); code != 0 {
		t.Fatalf("topics ensure: %s", out)
	}
	r := &failoverRig{t: t, k: k, topics: k.topics(profile.Name), seen: map[int32][]time.Time{}, keys: map[string]int32{}}
	for i := 0; i < failoverReplicas; i++ {
		addr := freeAddr(t)
		args := append([]string{"run", "processor", "--aggregate", "profile", "--http", addr,
			"--data-dir", filepath.Join(dataDir, fmt.Sprint("replica-", i))}, replicaArgs(i)...)
		r.replicas = append(r.replicas, newChild(t, k.env(), args...))
		r.http = append(r.http, addr)
	}
	newChild(t, k.env(), "run", "publisher", "--aggregate", "profile", "--http", "off", "--data-dir", filepath.Join(dataDir, "publisher"))

	// Four profiles per partition.
	var keys [failoverPartitions][]string
	for i := 0; len(r.keys) < 4*failoverPartitions; i++ {
		key := fmt.Sprint("fo-", i)
		p := kafka.PartitionOf(key, failoverPartitions)
		if len(keys[p]) < 4 {
			keys[p] = append(keys[p], key)
			r.keys[key] = p
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	rcl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers), kgo.ConsumeTopics(r.topics.Results),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond), kgo.RequestRetries(1000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rcl.Close)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			fs := rcl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(rec *kgo.Record) {
				var res codecs.Result
				if json.Unmarshal(rec.Value, &res) != nil {
					return
				}
				r.mu.Lock()
				if p, ok := r.keys[res.AggregateID]; ok {
					r.seen[p] = append(r.seen[p], now)
				}
				r.mu.Unlock()
			})
		}
	}()

	pcl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers), kgo.RecordPartitioner(kafka.Partitioner()), kgo.RecordRetries(1000), kgo.RequestRetries(1000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pcl.Close)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(failoverTick)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for p := range keys {
				id := keys[p][n%len(keys[p])]
				c := &codecs.Command{ID: fmt.Sprintf("%s-%d", id, n), Aggregate: profile.Name, AggregateID: id,
					Type: "SetUsername", Data: json.RawMessage(fmt.Sprintf(`{"username":"name-%d"}`, n))}
				b, err := codecs.CommandCodec{}.Encode(c)
				if err != nil {
					panic(err)
				}
				// TryProduce: the traffic never blocks on a broker away.
				pcl.TryProduce(ctx, &kgo.Record{Topic: r.topics.Commands, Key: []byte(id), Value: b}, nil)
			}
		}
	}()
	return r
}

// broker names the Kafka for the summary.
func (r *failoverRig) broker() string {
	if r.k.real {
		return "apache"
	}
	return "embedded"
}

// owners returns, per replica, the partitions it processes (goka's
// monitor: active and running).
func (r *failoverRig) owners() [][]int32 {
	r.t.Helper()
	out := make([][]int32, len(r.replicas))
	for i, addr := range r.http {
		if r.replicas[i].cmd.ProcessState != nil {
			continue // stopped
		}
		st, err := fetchTableStats(addr)
		if err != nil {
			r.t.Fatalf("replica %d: %v", i, err)
		}
		for p, ps := range st.Group {
			if ps.TableStats.RunMode == 0 && ps.TableStats.Status == 5 {
				out[i] = append(out[i], p)
			}
		}
		slices.Sort(out[i])
	}
	return out
}

// waitSteady waits until the group is stable with every replica, each
// partition processed by exactly one replica, and every partition answered
// within the last half second, then lets it run 3 s more.
func (r *failoverRig) waitSteady() { r.waitSteadyFor(len(r.replicas), 3) }

// waitSteadyFor waits until the group is stable with members members and
// every partition is processed and answered, then settleSeconds more.
func (r *failoverRig) waitSteadyFor(members, settleSeconds int) {
	r.t.Helper()
	waitGroupStable(r.t, r.k.brokers, r.topics.Group, members)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		owned := map[int32]int{}
		ok := true
		for i, addr := range r.http {
			if r.replicas[i].cmd.ProcessState != nil {
				continue // stopped
			}
			st, err := fetchTableStats(addr)
			if err != nil {
				ok = false
				break
			}
			for p, ps := range st.Group {
				if ps.TableStats.RunMode == 0 && ps.TableStats.Status == 5 {
					owned[p]++
				}
			}
		}
		now := time.Now()
		r.mu.Lock()
		for p := int32(0); p < failoverPartitions && ok; p++ {
			s := r.seen[p]
			ok = owned[p] == 1 && len(s) > 0 && now.Sub(s[len(s)-1]) < 500*time.Millisecond
		}
		r.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("not steady after 3 minutes: owners %v\n%s", owned, groupReport(r.k.brokers, r.topics.Group))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Duration(settleSeconds) * time.Second)
}

// waitAnswered waits until each partition of ps has a result that arrived
// after since, and returns the first such arrival of each.
func (r *failoverRig) waitAnswered(ps []int32, since time.Time, timeout time.Duration) map[int32]time.Time {
	since = since.Add(time.Second) // not those already on their way
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := map[int32]time.Time{}
		r.mu.Lock()
		for _, p := range ps {
			s := r.seen[p]
			if i := sort.Search(len(s), func(i int) bool { return s[i].After(since) }); i < len(s) {
				out[p] = s[i]
			}
		}
		r.mu.Unlock()
		if len(out) == len(ps) {
			return out
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("partitions %v: only %v answered within %v\n%s", ps, out, timeout, groupReport(r.k.brokers, r.topics.Group))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// longestGap is the longest time partition p went without a result
// between from and to: between two arrivals, or from from to the first
// arrival, or from the last one to to.
func (r *failoverRig) longestGap(p int32, from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := from
	var longest time.Duration
	for _, at := range r.seen[p] {
		if !at.After(from) {
			continue
		}
		if at.After(to) {
			break
		}
		longest = max(longest, at.Sub(prev))
		prev = at
	}
	return max(longest, to.Sub(prev))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Millisecond)
}

func roundAll(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Round(100*time.Millisecond).String())
	}
	return "[" + strings.Join(parts, " ") + "]"
}
