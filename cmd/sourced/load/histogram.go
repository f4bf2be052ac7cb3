package load

import (
	"math/bits"
	"time"
)

// Histogram buckets: values below subBuckets nanoseconds are exact; above,
// each power of two is split into subBuckets linear steps (HDR-style log-linear
// buckets), so a bucket is at most 1/128 of its value wide and a quantile,
// reported as its bucket's midpoint, is within 0.4% of the true sample.
const (
	subBits    = 7
	subBuckets = 1 << subBits                // 128
	nBuckets   = (65 - subBits) * subBuckets // every uint64
)

// Histogram records durations in fixed memory (about 58 KiB) and answers
// quantiles with a relative error below 0.4%. The zero value is empty and
// ready. It is not safe for concurrent use.
type Histogram struct {
	counts   [nBuckets]uint64
	n        uint64
	sum      time.Duration
	min, max time.Duration
}

// bucket returns the bucket of v >= 0 nanoseconds.
func bucket(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // v>>shift is in [128, 256)
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bounds returns the lowest value of bucket i and its width.
func bounds(i int) (low, width uint64) {
	if i < subBuckets {
		return uint64(i), 1
	}
	shift := i/subBuckets - 1
	return uint64(i%subBuckets+subBuckets) << shift, 1 << shift
}

// Record adds one duration; negative ones count as 0.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest duration recorded (0 when empty).
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean duration (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the q-quantile (0 < q <= 1), the smallest recorded
// value v such that a fraction q of the values are <= v (the nearest-rank
// definition), up to the bucket width. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999999)
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			low, width := bounds(i)
			v := time.Duration(low + width/2)
			return max(h.min, min(v, h.max))
		}
	}
	return h.max
}
