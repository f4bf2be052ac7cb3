package load

import (
	"math"
	"time"
)

// pacer is an open-loop token bucket: tokens become due at rate per second
// from start whatever happens to the commands sent, and a token is spent
// per command. Tokens that cannot be spent (every aggregate has a command
// in flight, or the generator is too slow) wait, up to burst of them; the
// rest are missed, so the achieved rate falls below the target instead of
// a backlog bursting out later. Not safe for concurrent use.
type pacer struct {
	rate   float64
	burst  int64
	start  time.Time
	spent  int64
	missed int64
}

// newPacer returns a pacer of rate tokens per second from start, holding at
// most a tenth of a second of unspent tokens (at least one).
func newPacer(rate float64, start time.Time) *pacer {
	return &pacer{rate: rate, burst: max(1, int64(math.Ceil(rate/10))), start: start}
}

// available returns how many tokens may be spent at now.
func (p *pacer) available(now time.Time) int64 {
	due := int64(p.rate * now.Sub(p.start).Seconds())
	n := due - p.spent - p.missed
	if n > p.burst {
		p.missed += n - p.burst
		n = p.burst
	}
	return max(0, n)
}

// spend records that one token was used.
func (p *pacer) spend() { p.spent++ }

// interval returns how often to check for due tokens: once per token at
// low rates, at most every millisecond and at least every 20 ms.
func (p *pacer) interval() time.Duration {
	d := time.Duration(float64(time.Second) / p.rate)
	return min(max(d, time.Millisecond), 20*time.Millisecond)
}
