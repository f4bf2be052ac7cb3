package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
)

type runFunc func(context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

var quickRestarts = restartPolicy{first: time.Millisecond, max: 4 * time.Millisecond, healthy: time.Hour, attempts: 4}

func TestSuperviseRestartsAFailedRoleWithAFreshOne(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	builds := 0
	err := supervise(ctx, "processor invoice", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
		builds++
		n := builds
		return runFunc(func(ctx context.Context) error {
			if n < 3 {
				return fmt.Errorf("error consuming from group consumer: i/o timeout (run %d)", n)
			}
			cancel() // the third one runs until stopped, then closes cleanly
			<-ctx.Done()
			return nil
		}), nil
	})
	if err != nil || builds != 3 {
		t.Fatalf("supervise: %v after %d builds, want a clean stop after 3", err, builds)
	}
}

func TestSuperviseGivesUp(t *testing.T) {
	t.Run("after too many failures in a row", func(t *testing.T) {
		builds := 0
		err := supervise(context.Background(), "publisher invoice", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
			builds++
			return runFunc(func(context.Context) error { return errors.New("broker gone") }), nil
		})
		if err == nil || builds != 4 || !strings.Contains(err.Error(), "failed 4 times in a row") {
			t.Fatalf("got %v after %d builds", err, builds)
		}
	})
	t.Run("at once when a view is stopped by its store", func(t *testing.T) {
		builds := 0
		err := supervise(context.Background(), "view profile", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
			builds++
			return runFunc(func(context.Context) error { return fmt.Errorf("%w: index missing", views.ErrViewStopped) }), nil
		})
		if !errors.Is(err, views.ErrViewStopped) || builds != 1 {
			t.Fatalf("got %v after %d builds", err, builds)
		}
	})
	t.Run("at once when the role cannot be built", func(t *testing.T) {
		err := supervise(context.Background(), "view profile", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
			return nil, errors.New("bad config")
		})
		if err == nil || err.Error() != "bad config" {
			t.Fatalf("got %v", err)
		}
	})
}

// A role that fails while its broker restarts is rebuilt, and goka's
// builders connect to the brokers: a rebuild that fails (Apache Kafka is
// still starting, or down for longer) is retried until the broker is back,
// without counting towards giving up.
func TestSuperviseRetriesARebuildThatFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	builds := 0
	err := supervise(ctx, "processor invoice", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
		builds++
		switch builds {
		case 1:
			return runFunc(func(context.Context) error { return errors.New("error consuming from group consumer: EOF") }), nil
		case 2, 3:
			return nil, errors.New("Error creating the kafka client: connection refused")
		}
		return runFunc(func(ctx context.Context) error {
			cancel()
			<-ctx.Done()
			return nil
		}), nil
	})
	if err != nil || builds != 4 {
		t.Fatalf("supervise: %v after %d builds, want a clean stop after 4", err, builds)
	}
	// A rebuild that keeps failing (a long outage) is retried until the
	// brokers are back or the role is stopped; it never gives up.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	builds = 0
	err = supervise(ctx, "processor invoice", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
		builds++
		if builds == 1 {
			return runFunc(func(context.Context) error { return errors.New("EOF") }), nil
		}
		if builds == 20 {
			cancel()
		}
		return nil, errors.New("connection refused")
	})
	if err != nil || builds < 20 {
		t.Fatalf("a rebuild that keeps failing: %v after %d builds, want retries until stopped", err, builds)
	}
}

// A first build that fails because the brokers went down after the role
// checked its topics is retried until they are back; any other first-build
// failure still ends the role at once.
func TestSuperviseRetriesAFirstBuildWhileTheBrokersAreDown(t *testing.T) {
	down := errors.New("connection refused")
	builds := 0
	ping := func(context.Context) error {
		if builds < 3 {
			return down
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := supervise(ctx, "processor invoice", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
		builds++
		if builds < 3 {
			return nil, unreachable(ctx, errors.New("Error creating topic manager"), ping)
		}
		return runFunc(func(ctx context.Context) error { cancel(); <-ctx.Done(); return nil }), nil
	})
	if err != nil || builds != 3 {
		t.Fatalf("supervise: %v after %d builds, want a clean stop after 3", err, builds)
	}
	builds = 3 // the brokers answer: the failure is the role's own
	err = supervise(context.Background(), "processor invoice", slog.New(slog.DiscardHandler), quickRestarts, func() (runner, error) {
		return nil, unreachable(context.Background(), errors.New("bad config"), ping)
	})
	if err == nil || err.Error() != "bad config" {
		t.Fatalf("a first build failing with the brokers up: %v, want it at once", err)
	}
}
