package broker

import (
	"context"
	"time"
)

// DefaultRetentionCheck is how often the embedded broker deletes expired
// records. kfake itself does so only on its compaction tick (hourly).
const DefaultRetentionCheck = time.Minute

// expire deletes the records of b whose retention.ms passed, every
// interval until ctx is done: kfake advances the log start offset past
// them, drops their batches from its in-memory index and removes the
// segment files holding only expired batches.
func (b *Broker) expire(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.Cluster.ApplyRetention()
		}
	}
}
