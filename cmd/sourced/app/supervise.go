package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/b2dc4357/sourced/views"
)

// runner is a role: a processor, publisher or view projector.
type runner interface{ Run(context.Context) error }

// restartPolicy bounds how a supervised role is restarted.
type restartPolicy struct {
	// first and max bound the exponential backoff between restarts.
	first, max time.Duration
	// healthy is how long a run must last for its failure to count as
	// a new incident (backoff and count start over).
	healthy time.Duration
	// attempts is how many failures in a row end the role.
	attempts int
}

// errBrokersUnreachable marks a build that failed while the brokers could
// not be reached (they went down after the role checked its topics): even
// a first build is then retried, as a rebuild is.
var errBrokersUnreachable = errors.New("the brokers cannot be reached")

// unreachable wraps a build error with errBrokersUnreachable when ping
// fails too.
func unreachable(ctx context.Context, err error, ping func(context.Context) error) error {
	if err == nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if perr := ping(pctx); perr != nil {
		return fmt.Errorf("%w (%w: %v)", err, errBrokersUnreachable, perr)
	}
	return err
}

var defaultRestarts = restartPolicy{first: time.Second, max: 30 * time.Second, healthy: time.Minute, attempts: 8}

// supervise runs a role built by build until ctx is cancelled. When the
// role fails (a broker restart, a group request that timed out), the
// error is logged and a fresh role is built and run after a backoff, as a
// Kafka Streams application replaces a dead stream thread: goka stops a
// processor on any consumer error, and a replica that exits leaves its
// partitions unprocessed until someone restarts it. A processor that fails
// has already marked its stores dirty, so the new one restores them from
// the changelog. A view stopped by a fatal store answer, or too many
// failures in a row, end the role with the error.
//
// The first build failing ends the role at once (a configuration error),
// unless the brokers cannot be reached (errBrokersUnreachable). A rebuild failing (goka's builders
// connect to the brokers) is retried with the backoff for as long as it
// takes and does not count as a failure: a broker outage of any length
// (Apache Kafka restarts in 5-60 s; maintenance takes longer) must not end
// the role.
func supervise(ctx context.Context, name string, logger *slog.Logger, policy restartPolicy, build func() (runner, error)) error {
	backoff := policy.first
	failures := 0
	for built := false; ; built = true {
		r, err := build()
		began := time.Now()
		switch {
		case err != nil && !built && !errors.Is(err, errBrokersUnreachable):
			return err
		case err != nil:
			// The brokers are not back yet: wait for them as long as it
			// takes (a Kafka client retries a lost connection for ever),
			// at the longest backoff; only failed runs count.
			logger.Error("role cannot be rebuilt yet, retrying", "role", name, "error", err, "restart_in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, policy.max)
			continue
		default:
			err = r.Run(ctx)
			if err == nil || ctx.Err() != nil {
				return err
			}
			if errors.Is(err, views.ErrViewStopped) {
				return err
			}
		}
		if time.Since(began) >= policy.healthy {
			failures, backoff = 0, policy.first
		}
		failures++
		if failures >= policy.attempts {
			return fmt.Errorf("%s failed %d times in a row, giving up: %w", name, failures, err)
		}
		logger.Error("role failed, restarting it", "role", name, "error", err, "restart_in", backoff, "failures", failures)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, policy.max)
	}
}
