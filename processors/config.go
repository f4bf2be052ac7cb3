package processors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/state"
)

// DefaultMaxSnapshotBytes bounds snapshots when the table topic's limit
// cannot be read: below the 1,000,012-byte batch limit of the producer
// (franz-go's default) and Kafka's default max.message.bytes of 1,048,588.
const DefaultMaxSnapshotBytes = 1_000_000

// DefaultDedupeWindow is the number of recent command ids a snapshot keeps.
const DefaultDedupeWindow = 64

// Config configures a processor or publisher of one aggregate. The zero
// value is not usable: Kafka.Brokers and Store.Dir are required.
type Config struct {
	// Kafka says how to reach Kafka (brokers, client id, SASL, TLS), for
	// both clients: goka's consumers run on sarama, its producer and the
	// processor's own clients on franz-go, whose idempotent producer keeps
	// order through broker restarts. Required: Kafka.Brokers.
	Kafka kafka.Connection
	// Prefix is prepended to every topic and group name. Default: none.
	Prefix string
	// Sarama tunes goka's sarama clients (session timeout, static
	// membership, fetching). Default: KafkaConfig(). The processor copies
	// it, applies Kafka's client id, TLS and SASL, and then enforces what
	// correctness needs: the idempotent producer with acks from all
	// replicas and one open request per broker, and new groups starting
	// at the oldest offset.
	Sarama *sarama.Config
	// Store configures the local LevelDB stores; Store.Dir is required.
	Store state.Config
	// DedupeWindow is how many decided command ids (accepted, rejected,
	// conflicting) a snapshot remembers, with their outcomes and
	// fingerprints, to answer retries with their first result. Default: 64.
	DedupeWindow int
	// MaxCommandBytes is the largest command accepted; larger ones are
	// dead-lettered. Default: 1 MiB.
	MaxCommandBytes int
	// MaxSnapshotBytes is the largest snapshot (encoded, uncompressed) the
	// processor writes; a command whose snapshot would be larger is
	// rejected (too_large) and changes nothing. Default: the table topic's
	// max.message.bytes as the broker describes it at Run, less room for
	// the key and the batch framing, and at most DefaultMaxSnapshotBytes.
	MaxSnapshotBytes int
	// SnapshotCacheBytes bounds the processor's memory of the snapshots it
	// last wrote, kept decoded so that the next command of an aggregate
	// does not decode them again (a cached snapshot is used only for the
	// very bytes the store holds). Default (0): DefaultSnapshotCacheBytes;
	// negative: no cache. Aggregates that CacheDecodedStates get as much
	// again for their decoded states.
	SnapshotCacheBytes int
	// Logger receives warnings (dead letters, version gaps) and errors.
	// Default: discard.
	Logger *slog.Logger
	// Hooks observe what the roles do, for metrics. Default: none.
	Hooks Hooks

	// kopts are Kafka's franz-go options, set by connect.
	kopts []kgo.Opt

	// checkSnapshotCache, set by tests, decodes every snapshot the cache
	// answers and fails the processor when the two differ.
	checkSnapshotCache bool
	// wrapProducer, set by tests, wraps the producer to inject faults.
	wrapProducer func(goka.Producer) goka.Producer
	// producerOpts, set by tests, are more franz-go options of the
	// producer (benchmarks of its settings).
	producerOpts []kgo.Opt
	// unfenced, set by tests on goka's tester (no broker), takes
	// partitions without writing fences.
	unfenced bool
}

// Hooks are optional callbacks, called synchronously from goka's partition
// goroutines: they must be fast and safe for concurrent use.
type Hooks struct {
	// OnResult is called for every result the processor emits, with the
	// command type, the time Decide took (0 when not decided), and the
	// command message's Kafka timestamp (the time from it to the call is
	// the command's latency up to its result being emitted).
	OnResult func(aggregate, commandType string, status codecs.Status, decide time.Duration, sent time.Time)
	// OnCommand is called when the processor starts on a command message,
	// with the time since its Kafka timestamp: the producer's linger, the
	// broker, the fetch and goka's queue, the first hop of its latency.
	OnCommand func(aggregate string, wait time.Duration)
	// OnDeadLetter is called for every message sent to the dead-letter topic.
	OnDeadLetter func(aggregate, code string)
	// OnPublish is called by the publisher for every event it emits.
	OnPublish func(aggregate string, events int)
	// OnGap is called by the publisher when a step's first event does not
	// follow the last published version of its aggregate.
	OnGap func(aggregate, aggregateID string, lastPublished, next uint64)
	// OnStale is called for every snapshot of a deposed owner that a
	// restore of table, or the publisher reading it, drops (DESIGN.md
	// guarantee 7).
	OnStale func(table string, partition int32)
	// OnTable is called, from a goroutine of Run, when the group table of
	// a processor or publisher starts recovering (at start and at every
	// rebalance), when it is recovered and the group processes input
	// (recovering took took), and when Run stops.
	OnTable func(table string, state TableState, took time.Duration)
}

// TableState is where a group's table stands.
type TableState int

// Table states reported to Hooks.OnTable.
const (
	// TableRecovering: the group is starting or rebalancing, restoring its
	// table partitions from the changelog.
	TableRecovering TableState = iota + 1
	// TableReady: every assigned partition is recovered and processing.
	TableReady
	// TableStopped: the group's Run returned.
	TableStopped
)

// String returns "recovering", "ready" or "stopped".
func (s TableState) String() string {
	switch s {
	case TableRecovering:
		return "recovering"
	case TableReady:
		return "ready"
	case TableStopped:
		return "stopped"
	}
	return fmt.Sprintf("TableState(%d)", int(s))
}

func (c *Config) setDefaults() {
	if c.Sarama == nil {
		c.Sarama = KafkaConfig()
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = DefaultDedupeWindow
	}
	if c.MaxCommandBytes == 0 {
		c.MaxCommandBytes = codecs.DefaultMaxCommandBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Store.Logger == nil {
		c.Store.Logger = c.Logger
	}
}

// Validate reports every problem of the configuration, joined.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("kafka connection: %w", err))
	}
	if c.Store.Dir == "" {
		errs = append(errs, errors.New("store dir: missing"))
	}
	if c.DedupeWindow < 0 {
		errs = append(errs, fmt.Errorf("dedupe window: %d < 0", c.DedupeWindow))
	}
	if c.MaxSnapshotBytes < 0 {
		errs = append(errs, fmt.Errorf("max snapshot bytes: %d < 0", c.MaxSnapshotBytes))
	}
	if c.MaxCommandBytes < 0 {
		errs = append(errs, fmt.Errorf("max command bytes: %d < 0", c.MaxCommandBytes))
	}
	if c.Sarama != nil {
		if err := c.Sarama.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("kafka config: %w", err))
		}
	}
	return errors.Join(errs...)
}

// KafkaConfig returns the Kafka client settings sourced starts from: goka's
// defaults with the idempotent producer (acks from all in-sync replicas, one
// open request per broker, so a retried batch can neither duplicate nor
// reorder snapshots of one key in the changelog), groups starting at the
// oldest offset, and a 50 ms fetch wait, which makes stops and restores
// several times faster at no cost in throughput (PERF.md).
func KafkaConfig() *sarama.Config {
	c := goka.DefaultConfig()
	c.Version = sarama.V2_1_0_0
	c.ClientID = "sourced"
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.MaxWaitTime = 50 * time.Millisecond
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	// A JoinGroup request blocks on the broker until every member rejoined
	// or the rebalance timeout passed (members killed without leaving).
	// sarama bounds it with Net.ReadTimeout, 30 s by default: shorter than
	// the default rebalance timeout of 60 s, so after a replica was killed
	// the survivors' joins timed out and their processors stopped. The
	// read timeout must exceed the rebalance timeout. A short rebalance
	// timeout (10 s; goka members rejoin within a second or two) bounds
	// how long a killed replica holds up the group, and the embedded
	// broker restarts that wait on every join, so with the 60 s default
	// a few restarts in a row kept groups rebalancing for minutes.
	c.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	c.Net.ReadTimeout = c.Consumer.Group.Rebalance.Timeout + 30*time.Second
	SetSessionTimeout(c, DefaultSessionTimeout)
	enforceCorrectness(c)
	return c
}

// DefaultSessionTimeout is how long a group waits for a member's heartbeat
// before it takes the member's partitions away: sarama's default. Lower
// would detect a killed replica sooner, but goka rejoins a rebalancing
// group only 5 s after its session ended, sending no heartbeat meanwhile,
// so much less than 10 s risks expiring the survivors of a rebalance too
// (README "Failover and rolling restarts").
const DefaultSessionTimeout = 10 * time.Second

// SetSessionTimeout sets the group session timeout of c to d and the
// heartbeat interval to a third of it, at most 1 s: a member learns of a
// rebalance at its next heartbeat, so the survivors of a failover start
// rejoining at most 1 s after the group noticed the dead member (sarama's
// default is 3 s).
func SetSessionTimeout(c *sarama.Config, d time.Duration) {
	c.Consumer.Group.Session.Timeout = d
	c.Consumer.Group.Heartbeat.Interval = min(d/3, time.Second)
}

// enforceCorrectness sets what the guarantees need, whatever the caller
// configured.
func enforceCorrectness(c *sarama.Config) {
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	if c.Producer.Retry.Max < 1 {
		c.Producer.Retry.Max = 10
	}
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
}

// connect replaces c.Sarama by a copy with the connection's client id,
// TLS and SASL and the correctness settings, and sets the franz-go
// options of the connection. Called after Validate.
func (c *Config) connect() error {
	sc := *c.Sarama
	if err := c.Kafka.Apply(&sc); err != nil {
		return fmt.Errorf("kafka connection: %w", err)
	}
	enforceCorrectness(&sc)
	c.Sarama = &sc
	kopts, err := c.Kafka.KgoOpts()
	if err != nil {
		return fmt.Errorf("kafka connection: %w", err)
	}
	c.kopts = kopts
	return nil
}

// StaticMember makes the group consumers built from c static members of
// their groups (KIP-345) named id: a member that stops (SIGTERM or crash)
// sends no LeaveGroup and stays in the group until its session times out,
// and one that comes back with the same id within the session timeout
// takes its partitions back without a rebalance, so the other members
// never pause (its own partitions wait for it). id must be unique among the
// members of a group (a second member with the same id fences the first)
// and stable across restarts, like a StatefulSet pod name. Static
// membership needs Kafka protocol 2.3, so the version is raised to it.
func StaticMember(c *sarama.Config, id string) error {
	c.Consumer.Group.InstanceId = id
	if !c.Version.IsAtLeast(sarama.V2_3_0_0) {
		c.Version = sarama.V2_3_0_0
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("instance id %q: %w", id, err)
	}
	return nil
}
