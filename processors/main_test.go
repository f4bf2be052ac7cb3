package processors_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/invoice"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// Child process roles: the integration tests re-run this test binary as a
// replica (processor and publisher of the invoice aggregate) so that a crash
// can be a real SIGKILL.
const (
	envChildRole    = "SOURCED_TEST_CHILD"
	envChildBrokers = "SOURCED_TEST_CHILD_BROKERS"
	envChildDir     = "SOURCED_TEST_CHILD_DIR"
	envChildRestart = "SOURCED_TEST_CHILD_RESTART"
	envChildPrefix  = "SOURCED_TEST_CHILD_PREFIX"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(envChildRole); role != "" {
		if err := runChild(role); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childConfig is KafkaConfig with the shortest session both brokers accept
// by default (group.min.session.timeout.ms), so a killed member leaves the
// group quickly, for the topics under prefix.
func childConfig(brokers []string, prefix, dir string) (processors.Config, *kadm.Client, error) {
	sc := processors.KafkaConfig()
	sc.Consumer.Group.Session.Timeout = 6 * time.Second
	sc.Consumer.Group.Heartbeat.Interval = time.Second
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return processors.Config{}, nil, err
	}
	adm := kadm.NewClient(cl)
	cfg := processors.Config{Kafka: kafka.Connection{Brokers: brokers}, Prefix: prefix, Sarama: sc}
	cfg.Store.Dir = dir
	cfg.Store.Changelog = processors.Changelog(cl, 10*time.Second)
	processors.CheckSnapshotCache(&cfg)
	return cfg, adm, nil
}

func runChild(role string) error {
	if role != "invoice" {
		return fmt.Errorf("unknown role %q", role)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, adm, err := childConfig(strings.Split(os.Getenv(envChildBrokers), ","), os.Getenv(envChildPrefix), os.Getenv(envChildDir))
	if err != nil {
		return err
	}
	defer adm.Close()
	// With envChildRestart set, a role that fails is built again and
	// restarted after a second, as `sourced run` supervises its roles (a
	// deposed processor fails on purpose, to restore its stores).
	restart := os.Getenv(envChildRestart) != ""
	run := func(ctx context.Context, build func() (interface{ Run(context.Context) error }, error)) error {
		for {
			r, err := build()
			if err == nil {
				err = r.Run(ctx)
			}
			if err == nil || ctx.Err() != nil || !restart {
				return err
			}
			fmt.Fprintln(os.Stderr, "child: role failed, restarting it:", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return run(ctx, func() (interface{ Run(context.Context) error }, error) {
			return processors.NewProcessor(invoice.New(), cfg)
		})
	})
	g.Go(func() error {
		return run(ctx, func() (interface{ Run(context.Context) error }, error) {
			return processors.NewPublisher(invoice.New(), cfg)
		})
	})
	return g.Wait()
}
