package codecs_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

func recent(i int) codecs.Recent {
	return codecs.Recent{CommandID: fmt.Sprintf("c%d", i), Version: uint64(i), Events: 1}
}

func TestSnapshotRemember(t *testing.T) {
	for _, tc := range []struct {
		name string
		have int // entries c1..cN already remembered
		k    int
		want []codecs.Recent // after remembering c(have+1)
	}{
		{"an empty snapshot remembers the first command", 0, 3, []codecs.Recent{recent(1)}},
		{"below k every command is kept", 1, 3, []codecs.Recent{recent(1), recent(2)}},
		{"at k the oldest is dropped", 3, 3, []codecs.Recent{recent(2), recent(3), recent(4)}},
		{"over k (k was lowered) only the newest k are kept", 5, 2, []codecs.Recent{recent(5), recent(6)}},
		{"k of 1 keeps only the new command", 4, 1, []codecs.Recent{recent(5)}},
		{"k of 0 keeps nothing", 2, 0, []codecs.Recent{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s codecs.Snapshot
			for i := 1; i <= tc.have; i++ {
				s.Recent = append(s.Recent, recent(i))
			}
			s.Remember(recent(tc.have+1), tc.k)
			if diff := cmp.Diff(tc.want, s.Recent, cmp.Comparer(func(a, b []codecs.Recent) bool {
				return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b)
			})); diff != "" {
				t.Errorf("Recent (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a long run keeps the newest k, oldest first", func(t *testing.T) {
		var s codecs.Snapshot
		for i := 1; i <= 100; i++ {
			s.Remember(recent(i), 5)
		}
		want := []codecs.Recent{recent(96), recent(97), recent(98), recent(99), recent(100)}
		if diff := cmp.Diff(want, s.Recent); diff != "" {
			t.Errorf("Recent (-want +got):\n%s", diff)
		}
		if cap(s.Recent) > 16 {
			t.Errorf("cap(Recent) = %d, want the slice reused, not grown", cap(s.Recent))
		}
	})
}

func TestSnapshotFind(t *testing.T) {
	var s codecs.Snapshot
	for i := 1; i <= 10; i++ {
		s.Remember(recent(i), 3)
	}
	t.Run("the remembered commands are found", func(t *testing.T) {
		for i := 8; i <= 10; i++ {
			got, ok := s.Find(fmt.Sprintf("c%d", i))
			if !ok || got != recent(i) {
				t.Errorf("Find(c%d) = %+v, %v; want %+v", i, got, ok, recent(i))
			}
		}
	})
	t.Run("forgotten and unknown commands are not found", func(t *testing.T) {
		for _, id := range []string{"c1", "c7", "c11", ""} {
			if got, ok := s.Find(id); ok {
				t.Errorf("Find(%q) = %+v, want not found", id, got)
			}
		}
	})
	t.Run("the newest entry wins when an id repeats", func(t *testing.T) {
		s := codecs.Snapshot{Recent: []codecs.Recent{{CommandID: "c", Version: 1}, {CommandID: "c", Version: 2}}}
		if got, _ := s.Find("c"); got.Version != 2 {
			t.Errorf("Find = %+v, want version 2", got)
		}
	})
	t.Run("an empty snapshot finds nothing", func(t *testing.T) {
		var s codecs.Snapshot
		if got, ok := s.Find("c1"); ok {
			t.Errorf("Find = %+v", got)
		}
	})
}
