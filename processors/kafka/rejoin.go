package kafka

import (
	"context"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// rejoinPause is how long promptRejoin waits between two sessions of a
// group: enough not to spin should a session end at once, far below the
// 5 s goka waits.
const rejoinPause = 200 * time.Millisecond

// PromptRejoin wraps goka's consumer group builder so that a processor
// rejoins its group as soon as a session ends (a rebalance), instead of
// 5 s later.
//
// goka v1.1.14 (Processor.rebalanceLoop) calls Consume once per session
// (one generation of the group) and, when it returns, sleeps a hard-coded
// 5 s before calling it again. Every member of a rebalancing group so
// joins 5 s late, and the group, which waits for all of them, processes
// nothing meanwhile: a failover and each of the two rebalances of a
// rolling restart took 5 s longer, and a member sends no heartbeat while
// it waits, so the session timeout could not go below about 8 s. The
// wrapped Consume runs sessions in a loop until ctx is done or a session
// fails, which is what goka's loop does, without the sleep. goka sees the
// same calls to Setup and Cleanup of its handler, one pair per session.
func PromptRejoin(build goka.ConsumerGroupBuilder) goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := build(brokers, group, clientID)
		if err != nil {
			return nil, err
		}
		return promptGroup{cg}, nil
	}
}

type promptGroup struct{ sarama.ConsumerGroup }

// Consume runs sessions of the group with h until ctx is done (nil) or a
// session fails (its error, which goka treats as fatal, as before).
func (g promptGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	for {
		if err := g.ConsumerGroup.Consume(ctx, topics, h); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(rejoinPause):
		}
	}
}
