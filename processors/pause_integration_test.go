package processors_test

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"
)

// A replica paused past its session timeout while commands flow (SIGSTOP,
// a stand-in for a long GC pause or a stalled network), then resumed
// (SIGCONT), cannot write history (DESIGN.md guarantee 7), on both
// brokers: the other replica takes its partitions, and whatever the paused
// one still delivers when it wakes (writes it had in flight, commands it
// had fetched) is fenced. Afterwards every aggregate's events are 1..N with
// no gap and identical duplicates, and the table read as every reader
// reads it equals the fold of the events. Each replica is paused in turn.
func TestIntegrationPausedReplicaIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs child processes against the broker (~1.5 min)")
	}
	if os.Getenv("SOURCED_SKIP_PAUSE") != "" {
		t.Skip("SOURCED_SKIP_PAUSE is set")
	}
	const invoices = 400
	c := startCluster(t, 4)
	results := c.watchResults(t)
	// Supervised, as `sourced run processor` is: a replica that finds it
	// was deposed while it wrote fails on purpose, to restore its stores.
	a := startReplica(t, c, t.TempDir(), envChildRestart+"=1")
	b := startReplica(t, c, t.TempDir(), envChildRestart+"=1")

	all := scriptCommands(invoices, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 7)
	// Commands flow in 40 waves, one every 250 ms, through both pauses.
	flowing := make(chan struct{})
	go func() {
		defer close(flowing)
		wave := (len(all) + 39) / 40
		for i := 0; i < len(all); i += wave {
			c.produce(t, all[i:min(i+wave, len(all))])
			time.Sleep(250 * time.Millisecond)
		}
	}()
	for _, r := range []*replica{a, b} {
		time.Sleep(2 * time.Second)
		if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatalf("SIGSTOP: %v", err)
		}
		// Past the 6 s session timeout: the other replica takes over and
		// processes the paused one's partitions.
		time.Sleep(9 * time.Second)
		if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatalf("SIGCONT: %v", err)
		}
	}
	<-flowing
	results.waitAnswered(t, ids(all), len(ids(all)), 3*replicaTimeout)

	waitEventsComplete(t, c, invoices)
	a.stop(t)
	b.stop(t)
	for _, r := range []*replica{a, b} {
		if log, _ := os.ReadFile(r.log); bytes.Contains(log, []byte("deposed")) {
			t.Logf("a replica found it was deposed and restored its stores")
		}
	}
	checkSnapshots(t, c, checkEvents(t, c, true))
}
