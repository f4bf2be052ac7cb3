package load

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	start := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }

	t.Run("tokens become due at the rate", func(t *testing.T) {
		p := newPacer(1000, start)
		if n := p.available(at(0)); n != 0 {
			t.Fatalf("at start: %d tokens, want 0", n)
		}
		if n := p.available(at(50 * time.Millisecond)); n != 50 {
			t.Fatalf("after 50 ms at 1000/s: %d tokens, want 50", n)
		}
		for range 50 {
			p.spend()
		}
		if n := p.available(at(60 * time.Millisecond)); n != 10 {
			t.Fatalf("10 ms later: %d tokens, want 10", n)
		}
	})
	t.Run("unspent tokens beyond a tenth of a second are missed, not bursted", func(t *testing.T) {
		p := newPacer(1000, start)
		if n := p.available(at(time.Second)); n != 100 {
			t.Fatalf("after a stall of 1 s: %d tokens available, want the burst of 100", n)
		}
		if p.missed != 900 {
			t.Fatalf("missed %d, want 900", p.missed)
		}
		for range 100 {
			p.spend()
		}
		if n := p.available(at(time.Second + 10*time.Millisecond)); n != 10 {
			t.Fatalf("after the stall the rate resumes: %d tokens, want 10", n)
		}
	})
	t.Run("low rates hold one token and check once per token", func(t *testing.T) {
		p := newPacer(2, start)
		if p.burst != 1 || p.interval() != 20*time.Millisecond {
			t.Fatalf("burst %d interval %v, want 1 and 20ms", p.burst, p.interval())
		}
		if n := p.available(at(3 * time.Second)); n != 1 || p.missed != 5 {
			t.Fatalf("after 3 s at 2/s unspent: %d available, %d missed; want 1 and 5", n, p.missed)
		}
	})
	t.Run("high rates are checked every millisecond", func(t *testing.T) {
		if d := newPacer(50_000, start).interval(); d != time.Millisecond {
			t.Fatalf("interval %v", d)
		}
	})
}
