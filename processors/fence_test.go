package processors

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/lovoo/goka/storage"
)

// An owner's own writes follow each other in its partition: a gap means
// another owner wrote in between, so the store may hold what the table
// does not, and the write fails (the processor fails and its stores are
// restored). Before the takeover (restore, catch-up) offsets may jump.
func TestOwnerFailsWhenAnotherOwnerWroteBetweenItsWrites(t *testing.T) {
	st, err := storage.MemoryBuilder()("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &fencedStore{Storage: st, topic: "t", partition: 0, logger: slog.New(slog.DiscardHandler)}
	s.next.Store(-1)
	for _, o := range []int64{3, 9, 10} { // restoring: compaction leaves gaps
		if err := s.SetOffset(o); err != nil {
			t.Fatalf("restore at %d: %v", o, err)
		}
	}
	s.next.Store(12) // took over with its fence at 11
	for _, o := range []int64{12, 13, 14} {
		if err := s.SetOffset(o); err != nil {
			t.Fatalf("own write at %d: %v", o, err)
		}
	}
	if err := s.SetOffset(17); !errors.Is(err, errDeposed) {
		t.Fatalf("write at 17 after 14: %v, want errDeposed", err)
	}
	if got, _ := s.GetOffset(-1); got != 14 {
		t.Fatalf("stored offset %d after the refused write, want 14", got)
	}
}
