package kafka

import "testing"

func TestInflightMarksOnlyCompletedPrefixes(t *testing.T) {
	type step struct {
		complete int64
		mark     int64 // 0: no new mark
	}
	for _, tc := range []struct {
		name      string
		delivered []int64
		steps     []step
	}{
		{"in order, every completion marks the next offset", []int64{0, 1, 2},
			[]step{{0, 1}, {1, 2}, {2, 3}}},
		{"a later message completing first does not pass an earlier one", []int64{0, 1, 2},
			[]step{{0, 1}, {2, 0}, {1, 3}}},
		{"the first message completing last marks everything", []int64{5, 6, 7},
			[]step{{7, 0}, {6, 0}, {5, 8}}},
		{"gaps in the offsets (compaction) do not hold the mark", []int64{3, 10, 11},
			[]step{{10, 0}, {3, 11}, {11, 12}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f inflight
			f.marked = tc.delivered[0]
			for _, o := range tc.delivered {
				f.deliver(o)
			}
			for i, s := range tc.steps {
				mark, ok := f.complete(s.complete)
				if s.mark == 0 && ok || s.mark != 0 && (!ok || mark != s.mark) {
					t.Fatalf("step %d: complete %d marked %d (%v), want %d", i, s.complete, mark, ok, s.mark)
				}
			}
		})
	}
}
