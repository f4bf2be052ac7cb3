package views

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A partition that comes back at this projector's own last commit gets
// the epoch it had there; one that restarts before what was read forgets
// its epoch (a fence it knows may follow the restart point); one that
// restarts at or after everything read keeps it.
func TestAdjustEpochsRestoresTheEpochAtTheRestartPoint(t *testing.T) {
	p := &Projector{topic: "t"}
	for part := range int32(3) {
		p.epochs.Fence(part, 9)     // a fence read at offset 100
		p.marks.markRead(part, 101) // everything before 101 read
	}
	p.marks.commitDone(batchOffsets{next: map[int32]mark{0: {offset: 50, epoch: 4}}})
	offsets := map[string]map[int32]kgo.Offset{"t": {
		0: kgo.NewOffset().At(50),  // our own commit: epoch 4 there
		1: kgo.NewOffset().At(60),  // someone else's, before what we read
		2: kgo.NewOffset().At(101), // nothing read at or after it
	}}
	if _, err := p.adjustEpochs(context.Background(), offsets); err != nil {
		t.Fatal(err)
	}
	for part, want := range map[int32]uint64{0: 4, 1: 0, 2: 9} {
		if got := p.epochs.Max(part); got != want {
			t.Errorf("partition %d: epoch %d, want %d", part, got, want)
		}
	}
}
