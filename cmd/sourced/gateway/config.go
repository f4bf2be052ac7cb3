package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/state"
	"github.com/b2dc4357/sourced/views"
)

// Defaults of Config.
const (
	DefaultResultWait = 5 * time.Second
	DefaultReadWait   = 5 * time.Second
	DefaultMaxBody    = 1 << 20
	// DefaultRecentResults is 3/4 of 32,768. A Go map sizes its storage
	// for a load of 7/8 in tables of 1,024 slots, and splits a table its
	// keys overfill: a generation made for 24,576 results holds them in
	// 4.8 MiB under any churn (BenchmarkResultCacheChurn: 11.6 MiB for
	// both and their keys), while one made for 28,672 grows to 16.5 MiB
	// and one made for 32,768 takes 21.5.
	DefaultRecentResults = 24576
	// DefaultMaxInFlight bounds the commands a replica handles at once.
	DefaultMaxInFlight = 2048
	// DefaultTargetLatency is the answer time the in-flight bound adapts
	// to (Config.TargetLatency).
	DefaultTargetLatency = time.Second
	// DefaultMaxCommandLag is the commands an aggregate's processors may
	// be behind before the gateway sheds that aggregate's commands.
	DefaultMaxCommandLag = 50000
	// DefaultLagCheck is how often the gateway reads Config.CommandLag.
	DefaultLagCheck = 250 * time.Millisecond
	// MaxSearchSize is the largest page a search returns.
	MaxSearchSize = 100
	// DefaultSearchSize is the page size of a search without size.
	DefaultSearchSize = 10
)

// Config configures a Gateway. Aggregates and Kafka are required; every
// other field has a default.
type Config struct {
	// Aggregates are the aggregates whose commands and snapshots the
	// gateway serves; their names and command types decide which routes
	// answer 404. Required.
	Aggregates []processors.Definition
	// Views are the views served under /v1/views/. Optional.
	Views []*views.View
	// Store holds the views. Nil: the view routes answer 503 with code
	// "no_view_store".
	Store views.Store

	// Kafka says how to reach Kafka (brokers, client id, SASL, TLS), for
	// the gateway's franz-go clients and goka's Views of the tables.
	// Required: Kafka.Brokers.
	Kafka kafka.Connection
	// Sarama tunes goka's Views; the gateway copies it and applies
	// Kafka's client id, TLS and SASL. Default: processors.KafkaConfig().
	Sarama *sarama.Config
	// Prefix is the topic prefix (codecs.NewTopics). Default: none.
	Prefix string

	// StoreDir is where the Views of the tables keep their LevelDB stores
	// (one per table partition, with the clean-close checkpoint of package
	// state). Empty: in memory, which re-reads every table at each start
	// and holds it all in RAM: for tests only.
	StoreDir string
	// Changelog identifies table partitions for the stores, so a store of
	// a deleted and recreated table is wiped (state.Config.Changelog).
	// Optional.
	Changelog func(topic string, partition int32) (state.Changelog, error)
	// StoreBlockCache, when set, is the LevelDB block cache of the Views'
	// stores, shared with any other store given it
	// (state.Config.BlockCache). Default: nil, 8 MiB per store.
	StoreBlockCache *state.BlockCache
	// StoreWriteBuffer is the LevelDB memtable size of each View store
	// (state.Config.WriteBuffer). Default: 0, state's default (4 MiB).
	StoreWriteBuffer int

	// ResultWait is the longest a POST waits for its result before it
	// answers 202; a client may ask for less with "Prefer: wait=N".
	// Default: 5s.
	ResultWait time.Duration
	// ReadWait is the longest a read with min_version waits for the
	// table or view to reach that version before it answers 504.
	// Default: 5s.
	ReadWait time.Duration
	// MaxBody is the largest request body accepted, in bytes; larger ones
	// get 413, as do commands over 1 MiB with their envelope (the
	// processor's limit). Default: 1 MiB.
	MaxBody int64
	// RecentResults is how many command results the gateway remembers for
	// GET .../commands/{command_id}: at least the last RecentResults, at
	// most twice as many. Default: 24576.
	RecentResults int
	// DrainTimeout bounds how long Run waits, once its context is done,
	// for requests still waiting on results before it stops reading them.
	// Default: ResultWait + 1s.
	DrainTimeout time.Duration

	// MaxInFlight bounds the commands this replica handles at once, from
	// the moment a POST's body is read until it is answered (waits for
	// results included). A POST beyond the bound is answered 429
	// "overloaded" with Retry-After before it is decoded or anything is
	// produced. Default: DefaultMaxInFlight (2048); negative: no bound.
	MaxInFlight int
	// TargetLatency, when positive, makes the in-flight bound adaptive:
	// between MaxInFlight/16 and MaxInFlight, it shrinks while more than
	// one in ten commands takes longer than TargetLatency from admission
	// to answer, and grows back while they do not and the bound is
	// reached. Under overload, accepted commands are then answered in
	// about TargetLatency and the rest are shed, instead of every command
	// queueing up to MaxInFlight deep. Default: DefaultTargetLatency
	// (1s); negative: the bound is MaxInFlight, fixed.
	TargetLatency time.Duration
	// CommandLag returns how many commands of an aggregate its processor
	// group has yet to process (the consumer lag on the commands topic),
	// and false when that is not known. The gateway reads it every
	// LagCheck, never on a request's path. Nil: no shedding on lag.
	CommandLag func(aggregate string) (lag int64, ok bool)
	// MaxCommandLag is the lag beyond which the aggregate's commands are
	// answered 503 "processors_behind" with Retry-After, before anything
	// is produced. Default: DefaultMaxCommandLag (50,000); negative: no
	// bound.
	MaxCommandLag int64
	// LagCheck is how often CommandLag is read. Default: 250ms.
	LagCheck time.Duration

	// RebuildProgress, when set, returns a function that receives the
	// progress of every rebuild of view run through the admin route (e.g.
	// to set the rebuild metrics). Optional.
	RebuildProgress func(view string) func(views.RebuildProgress)

	// Tokens enables bearer-token authentication of the /v1/ routes. Nil:
	// every request is allowed.
	Tokens *Tokens

	// Registerer receives the gateway's metrics (NewMetrics). Optional.
	Registerer prometheus.Registerer
	// Logger receives warnings and errors. Default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Sarama == nil {
		c.Sarama = processors.KafkaConfig()
	}
	if c.ResultWait <= 0 {
		c.ResultWait = DefaultResultWait
	}
	if c.ReadWait <= 0 {
		c.ReadWait = DefaultReadWait
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.RecentResults <= 0 {
		c.RecentResults = DefaultRecentResults
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.TargetLatency == 0 {
		c.TargetLatency = DefaultTargetLatency
	}
	if c.MaxCommandLag == 0 {
		c.MaxCommandLag = DefaultMaxCommandLag
	}
	if c.LagCheck <= 0 {
		c.LagCheck = DefaultLagCheck
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = c.ResultWait + time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the configuration, joined.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Aggregates) == 0 {
		errs = append(errs, errors.New("gateway: no aggregates"))
	}
	seen := map[string]bool{}
	for _, d := range c.Aggregates {
		if seen[d.Name()] {
			errs = append(errs, fmt.Errorf("gateway: aggregate %q listed twice", d.Name()))
		}
		seen[d.Name()] = true
		if d.Name() == "views" || d.Name() == "admin" {
			errs = append(errs, fmt.Errorf("gateway: aggregate name %q is reserved for a route", d.Name()))
		}
	}
	seenView := map[string]bool{}
	for _, v := range c.Views {
		if seenView[v.Name] {
			errs = append(errs, fmt.Errorf("gateway: view %q listed twice", v.Name))
		}
		seenView[v.Name] = true
		if _, err := tiebreaker(v); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("gateway: kafka connection: %w", err))
	}
	return errors.Join(errs...)
}
