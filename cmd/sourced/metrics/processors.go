package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// Processors exports what processors and publishers do as Prometheus
// metrics, fed by the processors.Hooks it returns:
//
//	sourced_commands_total{aggregate,type,status}
//	sourced_decide_duration_seconds{aggregate}
//	sourced_command_wait_seconds{aggregate}
//	sourced_command_result_latency_seconds{aggregate}
//	sourced_events_published_total{aggregate}
//	sourced_publish_gaps_total{aggregate}
//	sourced_stale_writes_total{table}
//	sourced_dead_letters_total{aggregate,code}
//	sourced_table_recovery_seconds{table}
//	sourced_table_ready{table}
//
// Command types come from the messages, so only the types of the
// definitions given to NewProcessors are used as labels; any other is counted
// as "unknown". It is safe for concurrent use.
type Processors struct {
	types map[string]map[string]bool // aggregate → its command types

	commands    *prometheus.CounterVec
	decide      *prometheus.HistogramVec
	latency     *prometheus.HistogramVec
	wait        *prometheus.HistogramVec
	published   *prometheus.CounterVec
	gaps        *prometheus.CounterVec
	stale       *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	recovery    *prometheus.GaugeVec
	ready       *prometheus.GaugeVec

	mu     sync.Mutex
	tables map[string]processors.TableState
}

// UnknownLabel is the label value of a command type that is not among
// the known ones.
const UnknownLabel = "unknown"

// NewProcessors registers the processor and publisher metrics in reg and
// returns them. defs are the aggregates whose command types may appear as
// labels; their series start at zero.
func NewProcessors(reg prometheus.Registerer, defs ...processors.Definition) *Processors {
	m := &Processors{
		types: map[string]map[string]bool{},
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sourced_commands_total",
			Help: "Results emitted by the processor, by aggregate, command type and status (accepted, rejected, conflict, duplicate).",
		}, []string{"aggregate", "type", "status"}),
		decide: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sourced_decide_duration_seconds",
			Help:    "Time Decide took for a command, by aggregate.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}, []string{"aggregate"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sourced_command_result_latency_seconds",
			Help:    "Time from a command's Kafka timestamp to its result being emitted by the processor, by aggregate.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"aggregate"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sourced_command_wait_seconds",
			Help:    "Time from a command's Kafka timestamp to the processor starting on it (producing, the broker, the fetch and goka's queue), by aggregate.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"aggregate"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sourced_events_published_total",
			Help: "Events the publisher emitted to the events topic, by aggregate.",
		}, []string{"aggregate"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sourced_publish_gaps_total",
			Help: "Steps whose first event did not follow the last published version, by aggregate.",
		}, []string{"aggregate"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sourced_stale_writes_total",
			Help: "Snapshots of a deposed owner (written after a newer owner fenced the partition) that a restore of the table or the publisher dropped, by table.",
		}, []string{"table"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sourced_dead_letters_total",
			Help: "Commands sent to the dead-letter topic, by aggregate and error code.",
		}, []string{"aggregate", "code"}),
		recovery: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sourced_table_recovery_seconds",
			Help: "Time the last recovery of a group table took (start or rebalance until every assigned partition was recovered).",
		}, []string{"table"}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sourced_table_ready",
			Help: "1 while a group table is recovered and its group processes input, 0 while it recovers or is stopped.",
		}, []string{"table"}),
		tables: map[string]processors.TableState{},
	}
	reg.MustRegister(m.commands, m.decide, m.latency, m.wait, m.published, m.gaps, m.stale, m.deadLetters, m.recovery, m.ready)
	statuses := []codecs.Status{codecs.StatusAccepted, codecs.StatusRejected, codecs.StatusConflict, codecs.StatusDuplicate}
	for _, def := range defs {
		known := map[string]bool{}
		for _, typ := range def.CommandTypes() {
			known[typ] = true
			for _, st := range statuses {
				m.commands.WithLabelValues(def.Name(), typ, string(st))
			}
		}
		m.types[def.Name()] = known
		m.decide.WithLabelValues(def.Name())
		m.latency.WithLabelValues(def.Name())
		m.wait.WithLabelValues(def.Name())
		m.published.WithLabelValues(def.Name())
		m.gaps.WithLabelValues(def.Name())
	}
	return m
}

// Hooks returns the hooks that feed m; set them as processors.Config.Hooks
// (processor and publisher).
func (m *Processors) Hooks() processors.Hooks {
	return processors.Hooks{
		OnResult: m.onResult,
		OnCommand: func(aggregate string, wait time.Duration) {
			m.wait.WithLabelValues(aggregate).Observe(max(wait.Seconds(), 0))
		},
		OnDeadLetter: m.onDeadLetter,
		OnPublish:    m.onPublish,
		OnGap:        func(aggregate, _ string, _, _ uint64) { m.gaps.WithLabelValues(aggregate).Inc() },
		OnTable:      m.onTable,
		OnStale:      func(table string, _ int32) { m.stale.WithLabelValues(table).Inc() },
	}
}

func (m *Processors) onResult(aggregate, typ string, status codecs.Status, decide time.Duration, sent time.Time) {
	if !m.types[aggregate][typ] {
		typ = UnknownLabel
	}
	m.commands.WithLabelValues(aggregate, typ, string(status)).Inc()
	if decide > 0 {
		m.decide.WithLabelValues(aggregate).Observe(decide.Seconds())
	}
	if !sent.IsZero() {
		// A clock behind the producer's can make this negative: count it as 0.
		m.latency.WithLabelValues(aggregate).Observe(max(time.Since(sent).Seconds(), 0))
	}
}

func (m *Processors) onDeadLetter(aggregate, code string) {
	// Codes come from sourced and the aggregates' code, never from input.
	m.deadLetters.WithLabelValues(aggregate, code).Inc()
}

func (m *Processors) onPublish(aggregate string, events int) {
	m.published.WithLabelValues(aggregate).Add(float64(events))
}

func (m *Processors) onTable(table string, st processors.TableState, took time.Duration) {
	m.mu.Lock()
	m.tables[table] = st
	m.mu.Unlock()
	switch st {
	case processors.TableReady:
		m.ready.WithLabelValues(table).Set(1)
		m.recovery.WithLabelValues(table).Set(took.Seconds())
	default:
		m.ready.WithLabelValues(table).Set(0)
	}
}

// TableRecovered returns nil while table is recovered and its group
// processes input, else an error saying where it stands. It suits a
// readiness check.
func (m *Processors) TableRecovered(_ context.Context, table string) error {
	m.mu.Lock()
	st, ok := m.tables[table]
	m.mu.Unlock()
	switch {
	case !ok:
		return fmt.Errorf("table %s: not started", table)
	case st != processors.TableReady:
		return fmt.Errorf("table %s: %s", table, st)
	}
	return nil
}
