package gateway

import (
	"sync/atomic"
	"time"
)

// Tuning of the adaptive in-flight bound (Config.TargetLatency).
const (
	// adaptEvery is how often the limiter judges the latencies it saw.
	adaptEvery = 100 * time.Millisecond
	// adaptMinSamples is the fewest answered commands a judgement needs;
	// below it the samples carry over to the next tick.
	adaptMinSamples = 16
	// adaptFloorDivisor sets the lowest bound, Config.MaxInFlight / 16
	// (128 by default): below it the bound never sheds a demand a gateway
	// can carry, whatever the latency.
	adaptFloorDivisor = 16
)

// limiter bounds the commands a gateway handles at once. Its bound is
// Config.MaxInFlight, or, with Config.TargetLatency, a bound between
// MaxInFlight/16 and MaxInFlight that it adapts to the latency of the
// commands it answers, the way TCP adapts its congestion window:
//
//   - when more than one in ten answers took longer than the target (a
//     queue is standing somewhere behind the gateway: the processors or
//     Kafka are saturated), the bound shrinks: by a tenth when that tenth
//     took at most 1.25 times the target, by a fifth up to 1.5 times, by
//     a third up to twice, by half beyond (the queue to drain is that much
//     longer: by Little's law, latency is in-flight over throughput);
//   - when they did not, and the bound was reached or a command was shed
//     (there is demand for more), it grows by a twentieth;
//   - otherwise it stays.
//
// It never shrinks below the target times the rate of answers since the
// last judgement: by Little's law that many commands in flight are
// answered within the target at the rate the pipeline answers now, so a
// smaller bound would only lower the throughput. This matters when
// answers are slow for another reason than a queue (a processor paused
// or stalling, a slow broker): shrinking then cannot make them faster.
//
// Only commands admitted after the last change are judged, so each change
// is judged by its own effect, at most once per round trip: no overshoot
// while commands admitted under the old bound drain. Under overload the
// bound settles where nine in ten answers take at most the target, which
// by Little's law is about the target times the throughput the processors
// sustain; the rest is shed with 429 before it costs anything.
//
// acquire and release are lock-free; adapt runs on one goroutine.
type limiter struct {
	max, floor int64
	target     time.Duration

	bound    atomic.Int64
	inFlight atomic.Int64

	// Since the last judgement: the most commands in flight, commands
	// shed, commands answered (admitted after changedAt) and of those the
	// ones slower than target times each of slowFactors.
	peak, shed, answered atomic.Int64
	slow                 [len(slowFactors)]atomic.Int64
	// done counts every answer since the last judgement, whenever its
	// command was admitted: the pipeline's rate.
	done atomic.Int64
	// judgedAt is when adapt last judged (Unix nanoseconds); only adapt
	// uses it.
	judgedAt int64
	// changedAt is when the bound last changed (Unix nanoseconds).
	changedAt atomic.Int64
}

// slowFactors are the multiples of the target whose excess the limiter
// counts, and shrinkTo what the bound is multiplied by when more than one
// in ten answers exceeded the matching multiple (the largest one
// exceeded decides).
var (
	slowFactors = [...]float64{1, 1.25, 1.5, 2}
	shrinkTo    = [len(slowFactors)]float64{0.9, 0.8, 2.0 / 3, 0.5}
)

// newLimiter returns the limiter of maxInFlight commands (no bound when
// maxInFlight <= 0) and, when target > 0, adapting that bound to target.
func newLimiter(maxInFlight int64, target time.Duration) *limiter {
	l := &limiter{max: maxInFlight, target: target}
	if maxInFlight <= 0 {
		l.target = 0
	}
	l.floor = max(1, maxInFlight/adaptFloorDivisor)
	l.bound.Store(maxInFlight)
	return l
}

// adaptive reports whether the bound adapts to Config.TargetLatency.
func (l *limiter) adaptive() bool { return l.target > 0 }

// acquire takes a slot and returns the moment it did, or false (and no
// slot) when the bound is reached.
func (l *limiter) acquire(now time.Time) (admitted int64, ok bool) {
	n := l.inFlight.Add(1)
	if l.max > 0 && n > l.bound.Load() {
		l.inFlight.Add(-1)
		l.shed.Add(1)
		return 0, false
	}
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	return now.UnixNano(), true
}

// release gives back the slot acquire took at admitted. answered says the
// command was produced and answered (a result, or 202 once its wait ran
// out), so latency, from admission to the answer, is a sample of what the
// pipeline behind the gateway takes.
func (l *limiter) release(admitted int64, latency time.Duration, answered bool) {
	l.inFlight.Add(-1)
	if !answered || !l.adaptive() {
		return
	}
	l.done.Add(1)
	if admitted < l.changedAt.Load() {
		return
	}
	l.answered.Add(1)
	for i, f := range slowFactors {
		if float64(latency) <= f*float64(l.target) {
			break
		}
		l.slow[i].Add(1)
	}
}

// adapt judges the samples since the last judgement and moves the bound;
// it returns the bound and whether it changed. It must not run
// concurrently with itself.
func (l *limiter) adapt(now time.Time) (bound int64, changed bool) {
	bound = l.bound.Load()
	if !l.adaptive() {
		return bound, false
	}
	if l.judgedAt == 0 {
		l.judgedAt = now.UnixNano()
	}
	answered := l.answered.Load()
	if answered < adaptMinSamples {
		return bound, false
	}
	// Commands the pipeline answers within the target at its rate now.
	var sustained int64
	if now.UnixNano() > l.judgedAt {
		rate := float64(l.done.Load()) / float64(now.UnixNano()-l.judgedAt) // per nanosecond
		sustained = int64(rate * float64(l.target))
	}
	l.judgedAt = now.UnixNano()
	l.done.Store(0)
	peak, shed := l.peak.Load(), l.shed.Load()
	next := bound
	shrink := -1
	for i := range l.slow {
		if l.slow[i].Load()*10 > answered {
			shrink = i
		}
	}
	switch {
	case shrink >= 0:
		next = max(l.floor, min(bound, max(sustained, int64(float64(bound)*shrinkTo[shrink]))))
	case peak >= bound-bound/10 || shed > 0:
		next = min(l.max, bound+max(1, bound/20))
	}
	l.answered.Store(0)
	for i := range l.slow {
		l.slow[i].Store(0)
	}
	l.shed.Store(0)
	l.peak.Store(l.inFlight.Load())
	if next == bound {
		return bound, false
	}
	l.bound.Store(next)
	l.changedAt.Store(now.UnixNano())
	return next, true
}
