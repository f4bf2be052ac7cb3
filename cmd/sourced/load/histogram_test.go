package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 1-100 ms", func() time.Duration { return time.Millisecond + time.Duration(r.Int64N(int64(99*time.Millisecond))) }},
		{"log-normal around 5 ms with a long tail", func() time.Duration {
			return time.Duration(math.Exp(r.NormFloat64()*1.2) * float64(5*time.Millisecond))
		}},
		{"sub-microsecond values are exact", func() time.Duration { return time.Duration(r.IntN(128)) }},
		{"minutes", func() time.Duration { return time.Duration(r.Int64N(int64(10 * time.Minute))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 20_000)
			for i := range samples {
				samples[i] = tc.gen()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				rank := int(math.Ceil(q * float64(len(samples))))
				want := samples[rank-1]
				got := h.Quantile(q)
				if diff := math.Abs(float64(got-want)) / float64(want); diff > 0.005 && got-want > 1 && want-got > 1 {
					t.Errorf("q%g = %v, want %v (off by %.2f%%)", q, got, want, 100*diff)
				}
			}
			if h.Count() != uint64(len(samples)) || h.Max() != samples[len(samples)-1] {
				t.Errorf("count %d max %v, want %d and %v", h.Count(), h.Max(), len(samples), samples[len(samples)-1])
			}
		})
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Fatalf("empty histogram: q50 %v mean %v, want 0", h.Quantile(0.5), h.Mean())
	}
	h.Record(1234567 * time.Microsecond)
	for _, q := range []float64{0.01, 0.5, 1} {
		if got := h.Quantile(q); got != 1234567*time.Microsecond {
			t.Errorf("one value: q%g = %v, want it exactly", q, got)
		}
	}
	h.Record(-time.Second)
	if h.Quantile(0.5) != 0 {
		t.Errorf("a negative duration counts as 0: q50 = %v", h.Quantile(0.5))
	}
	var big Histogram
	big.Record(time.Duration(math.MaxInt64))
	if big.Quantile(1) != time.Duration(math.MaxInt64) {
		t.Errorf("the largest duration: %v", big.Quantile(1))
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 40, math.MaxInt64, math.MaxUint64} {
		i := bucket(v)
		low, width := bounds(i)
		if i < 0 || i >= nBuckets || v < low || v-low >= width {
			t.Errorf("value %d: bucket %d [%d, +%d) does not hold it", v, i, low, width)
		}
		if v >= subBuckets && float64(width)/float64(low) > 1.0/subBuckets+1e-12 {
			t.Errorf("value %d: bucket width %d is more than 1/%d of %d", v, width, subBuckets, low)
		}
	}
}
