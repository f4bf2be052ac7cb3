package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/processors/profile"
)

// gokaTableStats is the part of goka's processor stats (served by the
// monitor on /goka/monitor/data/processor/0) the standby test reads.
type gokaTableStats struct {
	Group map[int32]struct {
		TableStats struct {
			Status   int // goka.PartitionStatus; 5 is running
			RunMode  int // 0 active, 1 passive (hot standby)
			Recovery struct{ RecoveryTime time.Time }
			Input    struct {
				Count      uint  // changelog records loaded by this partition
				LastOffset int64 // the last one
			}
		}
	}
}

func fetchTableStats(addr string) (gokaTableStats, error) {
	var st gokaTableStats
	resp, err := http.Get("http://" + addr + "/goka/monitor/data/processor/0")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// TestStandbyReplicaKeepsWarmCopies runs two processor replicas and kills
// the first. With --standby, the survivor keeps a store of every partition
// it does not own, loaded up to the end of the table, and takes the killed
// replica's partitions over without loading a record from the changelog;
// without it, it restores them from the changelog (the control).
func TestStandbyReplicaKeepsWarmCopies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, standby := range []bool{true, false} {
		t.Run(fmt.Sprintf("standby=%v", standby), func(t *testing.T) {
			t.Parallel()
			testStandby(t, standby)
		})
	}
}

func testStandby(t *testing.T, standby bool) {
	const partitions, profiles, perProfile = 4, 40, 10
	dataDir := t.TempDir()
	k := newTestKafka(t, dataDir)
	listen, env := k.brokers, k.env()
	if code, out := runSourced(t, listen, k.ensureArgs(partitions)...); code != 0 {
		t.Fatalf("topics ensure: %s", out)
	}
	topics := k.topics(profile.Name)
	replica := func(name, http string) *child {
		args := []string{"run", "processor", "--aggregate", "profile", "--http", http, "--data-dir", filepath.Join(dataDir, name)}
		if standby {
			args = append(args, "--standby")
		}
		return newChild(t, env, args...)
	}
	first := replica("first", "off")
	waitGroupStable(t, listen, topics.Group, 1)
	secondHTTP := freeAddr(t)
	replica("second", secondHTTP)
	waitGroupStable(t, listen, topics.Group, 2)

	// Commands to every partition, all answered.
	cl, err := kgo.NewClient(kgo.SeedBrokers(listen), kgo.RecordPartitioner(kafka.Partitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var recs []*kgo.Record
	want := map[string]bool{}
	for step := 0; step < perProfile; step++ {
		for p := 0; p < profiles; p++ {
			c := &codecs.Command{ID: fmt.Sprintf("p%d-s%d", p, step), Aggregate: profile.Name, AggregateID: fmt.Sprintf("u-%d", p),
				Type: "Follow", Data: json.RawMessage(fmt.Sprintf(`{"user_id":"v-%d"}`, step))}
			b, err := codecs.CommandCodec{}.Encode(c)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, &kgo.Record{Topic: topics.Commands, Key: []byte(c.AggregateID), Value: b})
			want[c.ID] = true
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitResults(t, ctx, listen, topics.Results, want)
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics.Table)
	if err != nil {
		t.Fatal(err)
	}
	end := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })

	// The second replica's copies: with --standby, a store of every
	// partition, those it does not own loaded up to the table's end.
	var owned, notOwned []int32
	deadline := time.Now().Add(30 * time.Second)
	for {
		owned, notOwned = nil, nil
		st, err := fetchTableStats(secondHTTP)
		warm := err == nil
		for p, ps := range st.Group {
			if ps.TableStats.RunMode == 0 {
				owned = append(owned, p)
				continue
			}
			notOwned = append(notOwned, p)
			if ps.TableStats.Input.LastOffset != end[p]-1 {
				warm = false
			}
		}
		wantCopies := len(owned) > 0 && len(owned) < partitions && (!standby || len(owned)+len(notOwned) == partitions)
		if warm && wantCopies {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second replica: owns %v, copies %v (err %v), want %d partitions with the copies at the table's end %v", owned, notOwned, err, partitions, end)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !standby && len(notOwned) > 0 {
		t.Fatalf("without --standby, the second replica holds copies of %v", notOwned)
	}
	for p := int32(0); p < partitions; p++ {
		_, err := os.Stat(filepath.Join(dataDir, "second", "state", fmt.Sprintf("%s.%d", topics.Table, p)))
		if has := err == nil; has != (standby || slices.Contains(owned, p)) {
			t.Errorf("second replica's state dir: store of partition %d exists %v (owned %v, standby %v)", p, has, owned, standby)
		}
	}

	// The owner of the other partitions dies; the second takes them over.
	first.kill()
	waitGroupStable(t, listen, topics.Group, 1)
	var st gokaTableStats
	deadline = time.Now().Add(60 * time.Second)
	for {
		st, err = fetchTableStats(secondHTTP)
		running := 0
		for _, ps := range st.Group {
			if ps.TableStats.RunMode == 0 && ps.TableStats.Status == 5 {
				running++
			}
		}
		if err == nil && running == partitions {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second replica did not take every partition over: %+v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for p := int32(0); p < partitions; p++ {
		if slices.Contains(owned, p) {
			continue
		}
		loaded := st.Group[p].TableStats.Input.Count
		switch {
		case standby && loaded != 0:
			t.Errorf("partition %d: the standby loaded %d of the table's %d records at takeover, want none (its copy was warm)", p, loaded, end[p])
		case !standby && int64(loaded) != end[p]:
			t.Errorf("partition %d: without standby, loaded %d records at takeover, want the table's %d (a cold restore)", p, loaded, end[p])
		}
		t.Logf("partition %d taken over: loaded %d of %d changelog records", p, loaded, end[p])
	}
}

// waitResults consumes the results topic until every command id in want
// has a result.
func waitResults(t *testing.T, ctx context.Context, brokers, topic string, want map[string]bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]bool{}
	for len(seen) < len(want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d results", len(seen), len(want))
		}
		fs.EachRecord(func(r *kgo.Record) {
			var res codecs.Result
			if json.Unmarshal(r.Value, &res) == nil && want[res.CommandID] {
				seen[res.CommandID] = true
			}
		})
	}
}
