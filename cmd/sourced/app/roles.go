package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	embedded "github.com/b2dc4357/sourced/processors/kafka/broker"
)

// findAggregate returns the registered aggregate called name.
func (ct Catalog) findAggregate(name string) (processors.Definition, error) {
	var known []string
	for _, def := range ct.Aggregates {
		if def.Name() == name {
			return def, nil
		}
		known = append(known, def.Name())
	}
	return nil, usageError{fmt.Errorf("unknown aggregate %q (known: %s)", name, strings.Join(known, ", "))}
}

// runBroker runs the embedded broker alone until ctx is cancelled.
func runBroker(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := newFlagSet("broker")
	dataDir := fs.String("data-dir", ".sourced", "data directory; the broker log is kept in <data-dir>/broker")
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on")
	saslMechanism := fs.String("sasl-mechanism", "", "require SASL with this mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	saslUser := fs.String("sasl-user", "", "the SASL user the broker accepts (a superuser)")
	saslPassword := fs.String("sasl-password", "", "its password (prefer SOURCED_SASL_PASSWORD)")
	tlsCert := fs.String("tls-cert", "", "serve TLS with this PEM certificate")
	tlsKey := fs.String("tls-key", "", "and this PEM key")
	httpAddr := fs.String("http", "off", `address of /metrics, /healthz and, with --pprof, /debug/pprof/ ("off" or "" disables them)`)
	pprofOn := addPprofFlag(fs)
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	cfg := embedded.Config{Dir: filepath.Join(*dataDir, "broker"), Listen: *listen, Logger: logger}
	if *saslMechanism != "" {
		mech := strings.ToUpper(*saslMechanism)
		switch mech {
		case kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512:
		default:
			return usageError{fmt.Errorf("broker: unknown SASL mechanism %q", *saslMechanism)}
		}
		if *saslUser == "" || *saslPassword == "" {
			return usageError{errors.New("broker: SASL needs --sasl-user and a password")}
		}
		cfg.SASL = kafka.SASL{Mechanism: mech, User: *saslUser, Password: *saslPassword}
	}
	if *tlsCert != "" || *tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return usageError{fmt.Errorf("broker: load TLS certificate: %w", err)}
		}
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	o, err := newOps(*httpAddr, nil, logger)
	if err != nil {
		return err
	}
	o.servePprof(*pprofOn)
	c, err := embedded.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "broker %s (data in %s)\n", c.ListenAddrs()[0], filepath.Join(*dataDir, "broker"))
	if o.srv != nil {
		fmt.Fprintf(stdout, "http   http://%s (/metrics, /healthz)\n", o.srv.Addr())
		err = o.run(ctx, nil)
	} else {
		<-ctx.Done()
	}
	c.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.Info("broker stopped cleanly")
	return nil
}

// runTopics implements `topics ensure`.
func (ct Catalog) runTopics(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "ensure" {
		return usageError{fmt.Errorf("topics: want `topics ensure`")}
	}
	fs := newFlagSet("topics ensure")
	kf := addKafkaFlags(fs)
	partitions := fs.Int("partitions", 8, "partitions of each topic")
	replication := fs.Int("replication", 1, "replication factor (-1: the broker's default)")
	minISR := fs.Int("min-insync-replicas", 0, "min.insync.replicas of every topic (0: the broker's default; at most --replication): acks=all writes fail while fewer replicas are in sync")
	noCompaction := fs.Bool("no-compaction", false, "table topics: delete policy with infinite retention instead of compaction (for brokers that ignore min.compaction.lag.ms, like the embedded one)")
	rf := addRetentionFlags(fs)
	if err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	_, cl, _, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	spec := kafka.TopicSpec{Partitions: int32(*partitions), Replication: int16(*replication), MinInsyncReplicas: *minISR, NoCompaction: *noCompaction}
	for _, def := range ct.Aggregates {
		topics := kf.topics(def.Name())
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := kafka.EnsureTopics(tctx, cl, topics, spec)
		if err == nil && rf.given() {
			// Only when asked: an operator may have tuned an existing
			// topic's retention by hand.
			err = setRetention(tctx, cl, topics, rf.retention(), *noCompaction)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("topics of %s: %w", def.Name(), err)
		}
		fmt.Fprintf(stdout, "%-8s %s ok\n", def.Name(), strings.Join(topics.All(), ", "))
	}
	return nil
}

// runRole implements `run processor|publisher`: one role of one aggregate.
func (ct Catalog) runRole(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 || (args[0] != "processor" && args[0] != "publisher") {
		return usageError{fmt.Errorf("run: want `run processor` or `run publisher`")}
	}
	role := args[0]
	fs := newFlagSet("run " + role)
	kf := addKafkaFlags(fs)
	aggregate := fs.String("aggregate", "", "aggregate to run (invoice, profile)")
	dataDir := fs.String("data-dir", ".sourced", "data directory; state stores live in <data-dir>/state")
	standby := fs.Bool("standby", false, "keep hot standby copies of partitions this replica does not own")
	instanceID := fs.String("instance-id", "", "static group membership: this replica's stable name, unique among the replicas of the role and aggregate (e.g. a StatefulSet pod name); a replica restarted within the session timeout keeps its partitions and the others do not pause (needs Kafka 2.3+). Empty: dynamic membership")
	sessionTimeout := fs.Duration("session-timeout", processors.DefaultSessionTimeout, "how long the group waits for this replica's heartbeat before it moves its partitions to the others (a killed replica's partitions wait this long; with --instance-id, a restart within it moves nothing); brokers accept 6s to 30m by default")
	httpAddr := addHTTPFlag(fs, defaultRoleHTTP)
	pprofOn := addPprofFlag(fs)
	if err := parse(fs, args[1:], stdout); err != nil {
		return err
	}
	if *sessionTimeout < time.Second {
		return usageError{fmt.Errorf("--session-timeout %v: want at least 1s", *sessionTimeout)}
	}
	def, err := ct.findAggregate(*aggregate)
	if err != nil {
		return err
	}
	conn, cl, sc, err := kf.dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	processors.SetSessionTimeout(sc, *sessionTimeout)
	if *instanceID != "" {
		if err := processors.StaticMember(sc, *instanceID); err != nil {
			return usageError{fmt.Errorf("--instance-id: %w", err)}
		}
	}
	o, err := newOps(*httpAddr, ct.Aggregates, logger)
	if err != nil {
		return err
	}
	o.servePprof(*pprofOn)
	topics := kf.topics(def.Name())
	cfg := o.processorConfig(roleConfig(conn, sc, *dataDir, cl, logger.With("aggregate", def.Name(), "role", role)))
	cfg.Prefix = *kf.prefix
	var opts []goka.ProcessorOption
	if *standby {
		opts = append(opts, goka.WithHotStandby())
	}
	r := processorRole(def, cfg, conn, o, opts...)
	if role == "publisher" {
		r = publisherRole(def, cfg, conn, o, opts...)
	}
	r.watch(o)
	return o.serve(ctx, cl, func(ctx context.Context) error {
		if err := checkTopicsWaiting(ctx, conn, cl, topics, logger); err != nil {
			return fmt.Errorf("%s %s refuses to start: %w", role, def.Name(), err)
		}
		logger.Info("running", "role", role, "aggregate", def.Name(), "kafka", conn.String())
		if err := r.run(ctx, logger); err != nil {
			return err
		}
		logger.Info("stopped cleanly", "role", role, "aggregate", def.Name())
		return nil
	})
}

// roleConfig is the processors configuration shared by every role.
func roleConfig(conn kafka.Connection, sc *sarama.Config, dataDir string, cl *kgo.Client, logger *slog.Logger) processors.Config {
	cfg := processors.Config{Kafka: conn, Sarama: sc, Logger: logger}
	cfg.Store.Dir = filepath.Join(dataDir, "state")
	cfg.Store.Changelog = processors.Changelog(cl, 10*time.Second)
	return cfg
}

// checkTopicsWaiting checks the topics of an aggregate, waiting for the
// brokers while they cannot be reached (a role started before its broker, or
// during a broker restart), but failing at once on missing or mismatched
// topics and on authentication failures, which waiting cannot fix.
func checkTopicsWaiting(ctx context.Context, conn kafka.Connection, cl *kgo.Client, topics codecs.Topics, logger *slog.Logger) error {
	backoff := 250 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := conn.Ping(tctx)
		if err == nil {
			_, err = kafka.CheckTopics(tctx, cl, topics)
		}
		cancel()
		var mismatch *kafka.TopicMismatchError
		if err == nil || errors.Is(err, kafka.ErrTopicMissing) || errors.As(err, &mismatch) ||
			kafka.IsAuthError(err) || ctx.Err() != nil {
			return err
		}
		logger.Warn("waiting for the brokers", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
