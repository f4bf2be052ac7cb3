package processors_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
)

// tableEvents records Hooks.OnTable calls.
type tableEvents struct {
	table  string
	mu     sync.Mutex
	events []processors.TableState
	took   []time.Duration
	ready  chan struct{}
}

func newTableEvents(table string) *tableEvents {
	return &tableEvents{table: table, ready: make(chan struct{}, 8)}
}

func (e *tableEvents) on(table string, st processors.TableState, took time.Duration) {
	if table != e.table {
		return
	}
	e.mu.Lock()
	e.events = append(e.events, st)
	e.took = append(e.took, took)
	e.mu.Unlock()
	if st == processors.TableReady {
		e.ready <- struct{}{}
	}
}

func (e *tableEvents) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprint(e.events)
}

func TestIntegrationOnTableReportsEveryRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	c := startCluster(t, 2)
	results := c.watchResults(t)
	cmds := scriptCommands(20, []int{0, 1}, 0)

	run := func(t *testing.T, dir string, produce bool) *tableEvents {
		t.Helper()
		cfg, adm, err := childConfig(c.brokers, c.prefix, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close()
		ev := newTableEvents(c.topics.Table)
		cfg.Hooks.OnTable = ev.on
		p, err := processors.NewProcessor(invoice.New(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		select {
		case <-ev.ready:
		case err := <-done:
			t.Fatalf("processor stopped before its table was ready: %v (events %s)", err, ev)
		case <-time.After(replicaTimeout):
			t.Fatalf("table not ready after %s (events %s)", replicaTimeout, ev)
		}
		// Ready means recovered: the state written before is readable at once.
		if !produce {
			v, err := p.Goka().Get("inv-0007")
			if err != nil || v == nil {
				t.Fatalf("right after ready, inv-0007 = %v, %v; want its restored snapshot", v, err)
			}
		}
		if produce {
			c.produce(t, cmds)
			results.waitAnswered(t, ids(cmds), len(ids(cmds)), replicaTimeout)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		return ev
	}

	first := run(t, t.TempDir(), true)
	want := fmt.Sprint([]processors.TableState{processors.TableRecovering, processors.TableReady, processors.TableStopped})
	if got := first.String(); got != want {
		t.Fatalf("first run reported %s, want %s", got, want)
	}
	// A new replica with an empty store restores the table from the changelog.
	second := run(t, t.TempDir(), false)
	if got := second.String(); got != want {
		t.Fatalf("restoring run reported %s, want %s", got, want)
	}
	second.mu.Lock()
	took := second.took[1]
	second.mu.Unlock()
	if took <= 0 || took > replicaTimeout {
		t.Fatalf("recovery took %s", took)
	}
	t.Logf("recovery of %d snapshots from the changelog (start to ready): %s", 20, took)
}
