package gateway

import (
	"testing"
	"time"
)

// answer admits n commands at at and answers each after latency,
// returning the ones shed.
func answer(l *limiter, at time.Time, n int, latency time.Duration) (shed int) {
	var admitted []int64
	for range n {
		a, ok := l.acquire(at)
		if !ok {
			shed++
			continue
		}
		admitted = append(admitted, a)
	}
	for _, a := range admitted {
		l.release(a, latency, true)
	}
	return shed
}

func TestLimiterShrinksWhileAnswersAreSlowAndGrowsBackWithDemand(t *testing.T) {
	const target = 100 * time.Millisecond
	l := newLimiter(1000, target)
	now := time.Unix(1000, 0)
	tick := func() (int64, bool) { now = now.Add(adaptEvery); return l.adapt(now) }

	// A full bound of slow answers: a standing queue behind the gateway.
	answer(l, now, 1000, 3*target)
	if b, changed := tick(); !changed || b != 500 {
		t.Fatalf("after answers at 3 times the target: bound %d (changed %v), want 500", b, changed)
	}
	// Answers of commands admitted before the change are not judged
	// again: they reflect the old bound.
	before := now.Add(-time.Millisecond).UnixNano()
	for range 100 {
		l.inFlight.Add(1)
		l.release(before, 3*target, true)
	}
	if b, changed := tick(); changed {
		t.Fatalf("judged answers admitted under the old bound: bound %d", b)
	}
	// Slow answers keep shrinking it, down to the floor and no further,
	// while the pipeline answers few commands: 20 a tick, 200/s, of
	// which 20 are answered within the target (Little's law), below the
	// floor.
	for range 100 {
		answer(l, now, 20, 3*target)
		tick()
	}
	if b := l.bound.Load(); b != 1000/adaptFloorDivisor {
		t.Fatalf("bound %d after long slowness, want the floor %d", b, 1000/adaptFloorDivisor)
	}
	// At the floor, demand beyond it is shed.
	if shed := answer(l, now, 100, target/2); shed != 100-1000/adaptFloorDivisor {
		t.Fatalf("%d of 100 shed at a bound of %d", shed, l.bound.Load())
	}
	// Fast answers with the bound reached: it grows back to MaxInFlight,
	// and no further.
	for range 200 {
		answer(l, now, int(l.bound.Load())+10, target/2)
		tick()
	}
	if b := l.bound.Load(); b != 1000 {
		t.Fatalf("bound %d after fast answers at the bound, want 1000", b)
	}
}

func TestLimiterKeepsWhatThePipelineAnswersInTime(t *testing.T) {
	// Answers are slow (a stalling processor), but 4,000 a second come
	// back: 400 of them within the 100 ms target. Shrinking below 400
	// would only cut the throughput.
	const target = 100 * time.Millisecond
	l := newLimiter(1000, target)
	now := time.Unix(1000, 0)
	l.adapt(now) // the first judgement has no rate yet
	for range 50 {
		answer(l, now, 400, 3*target)
		now = now.Add(adaptEvery)
		l.adapt(now)
	}
	if b := l.bound.Load(); b != 400 {
		t.Fatalf("bound %d with slow answers at 4,000/s, want 400 (target x rate)", b)
	}
}

func TestLimiterHoldsWithoutDemandOrSamples(t *testing.T) {
	const target = 100 * time.Millisecond
	l := newLimiter(1000, target)
	now := time.Unix(1000, 0)
	for range 3 {
		answer(l, now, 800, 3*target)
		now = now.Add(adaptEvery)
		l.adapt(now)
	}
	low := l.bound.Load()
	if low >= 1000 {
		t.Fatalf("bound %d after slow answers", low)
	}
	// Fast answers well below the bound: no demand, no growth.
	answer(l, now, int(low/2), target/2)
	if b, changed := l.adapt(now.Add(adaptEvery)); changed {
		t.Fatalf("grew to %d without demand", b)
	}
	// Too few answers to judge: they carry over.
	answer(l, now, adaptMinSamples-1, 3*target)
	if _, changed := l.adapt(now.Add(2 * adaptEvery)); changed {
		t.Fatal("judged fewer than adaptMinSamples answers")
	}
	answer(l, now, 1, 3*target)
	if _, changed := l.adapt(now.Add(3 * adaptEvery)); !changed {
		t.Fatal("did not judge once adaptMinSamples answers had come")
	}
	// Unanswered commands (invalid, abandoned) are not samples.
	for range 100 {
		a, _ := l.acquire(now)
		l.release(a, 3*target, false)
	}
	if l.answered.Load() != 0 {
		t.Fatalf("%d unanswered commands counted as samples", l.answered.Load())
	}
}

func TestLimiterShrinksByHowSlowTheAnswersAre(t *testing.T) {
	const target = 100 * time.Millisecond
	for _, c := range []struct {
		latency time.Duration
		want    int64
	}{
		{target, 1000}, // at the target: not slow; no demand either
		{target * 11 / 10, 900},
		{target * 14 / 10, 800},
		{target * 19 / 10, 666},
		{target * 5, 500},
	} {
		l := newLimiter(1000, target)
		now := time.Unix(1000, 0)
		// One in ten answers at the latency, the rest fast: over a tenth
		// only with the one extra.
		answer(l, now, 90, target/2)
		answer(l, now, 11, c.latency)
		if b, _ := l.adapt(now.Add(adaptEvery)); b != c.want {
			t.Errorf("a tenth of answers at %v (target %v): bound %d, want %d", c.latency, target, b, c.want)
		}
	}
	// Exactly one in ten slow is not a standing queue.
	l := newLimiter(1000, target)
	answer(l, time.Unix(1000, 0), 90, target/2)
	answer(l, time.Unix(1000, 0), 10, 5*target)
	if b, changed := l.adapt(time.Unix(1001, 0)); changed {
		t.Errorf("one in ten slow answers: bound %d, want 1000", b)
	}
}

func TestLimiterFixedBound(t *testing.T) {
	for _, target := range []time.Duration{0, -1} {
		l := newLimiter(10, target)
		now := time.Unix(1000, 0)
		if shed := answer(l, now, 15, time.Hour); shed != 5 {
			t.Fatalf("target %v: %d of 15 shed at a bound of 10, want 5", target, shed)
		}
		if b, changed := l.adapt(now.Add(adaptEvery)); changed || b != 10 {
			t.Fatalf("target %v: bound %d (changed %v), want 10 fixed", target, b, changed)
		}
	}
	// No bound at all: nothing is shed, even with a target.
	l := newLimiter(-1, time.Millisecond)
	if shed := answer(l, time.Unix(1000, 0), 10000, time.Hour); shed != 0 || l.adaptive() {
		t.Fatalf("unbounded: %d shed, adaptive %v", shed, l.adaptive())
	}
}

func BenchmarkLimiterAcquireRelease(b *testing.B) {
	l := newLimiter(DefaultMaxInFlight, DefaultTargetLatency)
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a, ok := l.acquire(now)
			if ok {
				l.release(a, time.Millisecond, true)
			}
		}
	})
}
