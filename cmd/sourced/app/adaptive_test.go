package app

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGatewayAdaptsItsBoundToLatency stages a stall behind the gateway: the
// processor is paused (SIGSTOP) while a full bound of commands waits for
// results, so their answers come back slower than --target-latency. The
// in-flight bound must shrink, a gateway at the smaller bound must shed
// the next command with 429 (and never produce it), every command held
// through the stall must get its result, and once answers are fast again
// and clients want more than the bound, it must grow back to
// --max-in-flight.
func TestGatewayAdaptsItsBoundToLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker, a processor and a gateway as child processes (~40 s)")
	}
	const (
		maxInFlight = 64
		target      = time.Second
	)
	k := newTestKafka(t, t.TempDir())
	if code, out := runSourced(t, k.brokers, k.ensureArgs(2)...); code != 0 {
		t.Fatalf("topics ensure: exit %d\n%s", code, out)
	}
	proc, _ := startChild(t, k.env(), "run", "processor", "--aggregate", "profile", "--data-dir", t.TempDir())
	httpAddr := freeAddr(t)
	_, gwOut := startChild(t, k.env(), "run", "gateway", "--http", httpAddr, "--data-dir", t.TempDir(),
		"--max-in-flight", fmt.Sprint(maxInFlight), "--target-latency", target.String(), "--result-wait", "30s")
	gw := api{t: t, base: "http://" + httpAddr}
	gw.waitReady(gwOut.String)
	metric := func(name string) float64 {
		v, _ := scrape(t, gw.base).Value(name)
		return v
	}
	eventually(t, 60*time.Second, func() string {
		if r := gw.post("/v1/profile/ad-0/SetUsername", `{"username":"a"}`, "Idempotency-Key", "ad-0"); r.status != 200 {
			return fmt.Sprintf("first command: %d %s", r.status, r.raw)
		}
		return ""
	})
	if b := metric("sourced_gateway_commands_in_flight_limit"); b != maxInFlight {
		t.Fatalf("bound %v before any stall, want %d", b, maxInFlight)
	}

	// hold sends n commands that wait for their results, once the
	// processor is paused, and returns a wait for their answers.
	var seq int
	hold := func(n int) func() []reply {
		replies := make([]reply, n)
		var wg sync.WaitGroup
		for i := range n {
			seq++
			id := fmt.Sprintf("ad-%d", seq)
			wg.Go(func() {
				replies[i] = gw.post("/v1/profile/"+id+"/SetUsername", `{"username":"h"}`, "Idempotency-Key", id)
			})
		}
		return func() []reply { wg.Wait(); return replies }
	}
	allAnswered := func(what string, replies []reply) {
		t.Helper()
		for _, r := range replies {
			if r.status != 200 {
				t.Fatalf("%s: %d %s, want every held command answered 200", what, r.status, r.raw)
			}
		}
	}

	t.Run("answers slower than the target shrink the bound", func(t *testing.T) {
		if err := proc.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		wait := hold(maxInFlight)
		eventually(t, 30*time.Second, func() string {
			if v := metric("sourced_gateway_commands_in_flight"); v != maxInFlight {
				return fmt.Sprintf("%v commands in flight, want %d", v, maxInFlight)
			}
			return ""
		})
		time.Sleep(2 * target) // every held command will have taken longer than the target
		if err := proc.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		allAnswered("held through the stall", wait())
		eventually(t, 10*time.Second, func() string {
			if b := metric("sourced_gateway_commands_in_flight_limit"); b >= maxInFlight {
				return fmt.Sprintf("bound %v after %d slow answers, want below %d", b, maxInFlight, maxInFlight)
			}
			return ""
		})
	})

	t.Run("the smaller bound sheds with 429 before producing", func(t *testing.T) {
		bound := int(metric("sourced_gateway_commands_in_flight_limit"))
		if err := proc.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		wait := hold(bound)
		eventually(t, 30*time.Second, func() string {
			if v := metric("sourced_gateway_commands_in_flight"); int(v) != bound {
				return fmt.Sprintf("%v commands in flight, want the bound %d", v, bound)
			}
			return ""
		})
		r := gw.post("/v1/profile/ad-over/SetUsername", `{"username":"o"}`, "Idempotency-Key", "ad-over")
		wantStatus(t, fmt.Sprintf("a command beyond the adapted bound %d", bound), r, 429, "overloaded")
		if err := proc.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		allAnswered("held at the smaller bound", wait())
		if r := gw.get("/v1/profile/ad-over/commands/ad-over"); r.status != 404 {
			t.Errorf("the shed command: %d %s, want 404 (never produced)", r.status, r.raw)
		}
	})

	t.Run("fast answers with demand beyond the bound grow it back", func(t *testing.T) {
		// Clients keep more commands in flight than the bound, answered
		// well within the target; shed ones are sent again.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var unexpected []string
		for w := range maxInFlight + 16 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("ad-w%d-%d", w, i)
					r := gw.post("/v1/profile/"+id+"/SetUsername", `{"username":"w"}`, "Idempotency-Key", id)
					if r.status != 200 && r.status != 429 {
						mu.Lock()
						unexpected = append(unexpected, fmt.Sprintf("%d %s", r.status, r.raw))
						mu.Unlock()
					}
					if r.status == 429 {
						time.Sleep(20 * time.Millisecond)
					}
				}
			})
		}
		defer func() { close(stop); wg.Wait() }()
		eventually(t, 60*time.Second, func() string {
			if b := metric("sourced_gateway_commands_in_flight_limit"); b != maxInFlight {
				return fmt.Sprintf("bound %v with fast answers and demand beyond it, want %d back", b, maxInFlight)
			}
			return ""
		})
		mu.Lock()
		defer mu.Unlock()
		if len(unexpected) > 0 {
			t.Fatalf("%d answers neither 200 nor 429, e.g. %s", len(unexpected), unexpected[0])
		}
	})
}
