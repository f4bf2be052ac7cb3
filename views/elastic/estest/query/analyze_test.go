package query

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Quick Brown-Fox!", []string{"quick", "brown", "fox"}},
		{"  ", nil},
		{"Don't panic", []string{"don't", "panic"}},
		{"The Hitchhiker's Guide", []string{"the", "hitchhiker's", "guide"}},
		{"trailing' quote", []string{"trailing", "quote"}},
		{"U.S.A. and e.g", []string{"u.s.a", "and", "e.g"}},
		{"pi is 3.14, 1,000 items", []string{"pi", "is", "3.14", "1,000", "items"}},
		{"a,b 1.a", []string{"a", "b", "1", "a"}},
		{"foo_bar baz123 x-y", []string{"foo_bar", "baz123", "x", "y"}},
		{"user@example.com", []string{"user", "example.com"}},
		{"Ærø Straße ÉTÉ", []string{"ærø", "straße", "été"}},
		{"naïve café", []string{"naïve", "café"}},
		{"Привет, мир", []string{"привет", "мир"}},
		{"東京タワー", []string{"東", "京", "タワー"}},
		{"a:b", []string{"a:b"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, analyze(tc.in)); diff != "" {
				t.Errorf("analyze(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestAnalyzeValuesPositions(t *testing.T) {
	got := analyzeValues([]any{"a b", "c"})
	want := []token{{"a", 0}, {"b", 1}, {"c", 102}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(token{})); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

func TestDateMath(t *testing.T) {
	now := time.Date(2024, 5, 15, 10, 30, 45, 123e6, time.UTC)
	ms := func(s string) int64 { tm, _ := time.Parse(time.RFC3339Nano, s); return tm.UnixMilli() }
	tests := []struct {
		in      string
		format  string
		roundUp bool
		want    int64
	}{
		{"now", "", false, now.UnixMilli()},
		{"now-1d", "", false, ms("2024-05-14T10:30:45.123Z")},
		{"now/d", "", false, ms("2024-05-15T00:00:00Z")},
		{"now/d", "", true, ms("2024-05-15T23:59:59.999Z")},
		{"now-1M/M", "", false, ms("2024-04-01T00:00:00Z")},
		{"now+1y-2h/h", "", false, ms("2025-05-15T08:00:00Z")},
		{"now/w", "", false, ms("2024-05-13T00:00:00Z")},
		{"now-30m/m", "", false, ms("2024-05-15T10:00:00Z")},
		{"now/s", "", false, ms("2024-05-15T10:30:45Z")},
		{"2020-02-28||+1d", "", false, ms("2020-02-29T00:00:00Z")},
		{"2020-02-28T10:00:00Z||/M", "", true, ms("2020-02-29T23:59:59.999Z")},
		{"2019-10-21 08:30:04.828", "", false, 1571646604828},
		{"2019-10-21T08:30:04.828+02:00", "", false, 1571639404828},
		{"1571646604828", "", false, 1571646604828},
		{"2019", "", false, ms("2019-01-01T00:00:00Z")},
		{"21/10/2019", "dd/MM/yyyy", false, ms("2019-10-21T00:00:00Z")},
		{"2019-10-21 08:30:04.828", "yyyy-MM-dd HH:mm:ss.SSS", false, 1571646604828},
		// Round up fills in the missing time fields with their largest
		// value (the month and day stay 1), as ES's round-up parser does.
		{"2026-11-01", "", true, ms("2026-11-01T23:59:59.999Z")},
		{"2026-11", "", true, ms("2026-11-01T23:59:59.999Z")},
		{"2026", "", true, ms("2026-01-01T23:59:59.999Z")},
		{"2026-11-01T10", "", true, ms("2026-11-01T10:59:59.999Z")},
		{"2026-11-01T10:15", "", true, ms("2026-11-01T10:15:59.999Z")},
		{"2026-11-01T10:15:30", "", true, ms("2026-11-01T10:15:30.999Z")},
		{"2026-11-01T10:15:30+02:00", "", true, ms("2026-11-01T08:15:30.999Z")},
		{"2026-11-01T10:15:30.5Z", "", true, ms("2026-11-01T10:15:30.500Z")},
		{"2026-11-01T10:15:30.5+02:00", "", true, ms("2026-11-01T08:15:30.500Z")},
		{"2026-11-01 10:15:30.25", "yyyy-MM-dd HH:mm:ss", true, ms("2026-11-01T10:15:30.250Z")},
		{"21/10/2019", "dd/MM/yyyy", true, ms("2019-10-21T23:59:59.999Z")},
		{"21/10/2019 08", "dd/MM/yyyy HH", true, ms("2019-10-21T08:59:59.999Z")},
		{"1571646604828", "", true, 1571646604828},
		{"2020-02-28||+1d", "", true, ms("2020-02-29T00:00:00Z")},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := dateMillis(tc.in, tc.format, time.UTC, now, tc.roundUp)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", time.UnixMilli(got).UTC(), time.UnixMilli(tc.want).UTC())
			}
		})
	}
	for _, bad := range []string{"yesterday", "now-1x", "now/", "now+", "now*2d", "2020-13-45"} {
		if _, err := dateMillis(bad, "", time.UTC, now, false); err == nil {
			t.Errorf("dateMillis(%q) succeeded, want an error", bad)
		}
	}
}

func TestMinShouldMatch(t *testing.T) {
	tests := []struct {
		spec string
		n    int
		want int
	}{
		{"2", 3, 2}, {"-1", 3, 2}, {"75%", 4, 3}, {"75%", 3, 2}, {"-25%", 4, 3}, {"-25%", 3, 3},
		{"3<90%", 3, 3}, {"3<90%", 10, 9}, {"2<-25% 9<-3", 2, 2}, {"2<-25% 9<-3", 5, 4}, {"2<-25% 9<-3", 12, 9},
		{"-5", 3, 0}, {"0", 3, 0},
	}
	for _, tc := range tests {
		got, err := minShouldMatch(tc.spec, tc.n)
		if err != nil || got != tc.want {
			t.Errorf("minShouldMatch(%q, %d) = %d, %v; want %d", tc.spec, tc.n, got, err, tc.want)
		}
	}
}
