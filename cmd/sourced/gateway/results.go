package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// resultKey identifies a command: command ids are chosen by clients, so
// two aggregates may share one.
type resultKey struct {
	aggregate, aggregateID, commandID string
}

// results reads the results topics of every aggregate, without a consumer
// group, from the end offsets listed at start, and hands each result to the
// request waiting for it. Every replica of the gateway reads every
// partition, so whichever replica produced a command sees its result.
//
// One mutex guards the waiters and the recent cache; nothing else is
// locked while it is held.
type results struct {
	logger  *slog.Logger
	metrics *Metrics
	// positioned is set once the readers start at the listed end offsets.
	positioned atomic.Bool

	mu      sync.Mutex
	waiters map[resultKey][]chan codecs.Result // guarded by mu; FIFO per key
	cache   *resultCache                       // guarded by mu
}

func newResults(capacity int, m *Metrics, logger *slog.Logger) *results {
	return &results{logger: logger, metrics: m, waiters: map[resultKey][]chan codecs.Result{}, cache: newResultCache(capacity)}
}

// register adds a waiter for key. Register before producing the command,
// or the result may arrive first and be missed. The channel receives at
// most one result; call cancel when done waiting.
func (rs *results) register(key resultKey) (ch <-chan codecs.Result, cancel func()) {
	c := make(chan codecs.Result, 1)
	rs.mu.Lock()
	rs.waiters[key] = append(rs.waiters[key], c)
	rs.mu.Unlock()
	rs.metrics.pending.Inc()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			rs.mu.Lock()
			ws := rs.waiters[key]
			for i, w := range ws {
				if w == c {
					ws = append(ws[:i:i], ws[i+1:]...)
					break
				}
			}
			if len(ws) == 0 {
				delete(rs.waiters, key)
			} else {
				rs.waiters[key] = ws
			}
			rs.mu.Unlock()
			rs.metrics.pending.Dec()
		})
	}
}

// deliver hands a result to the oldest waiter of its command and
// remembers it. Two requests with the same idempotency key in flight each
// get one of the results (the first handling and its duplicate).
func (rs *results) deliver(aggregate string, res codecs.Result) {
	key := resultKey{aggregate, res.AggregateID, res.CommandID}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.cache.put(key, res)
	ws := rs.waiters[key]
	if len(ws) == 0 {
		return
	}
	ws[0] <- res // buffered, and each waiter gets one result at most
	if len(ws) == 1 {
		delete(rs.waiters, key)
	} else {
		rs.waiters[key] = ws[1:]
	}
}

// markPending remembers that a command was sent and has no result yet.
func (rs *results) markPending(key resultKey) {
	rs.mu.Lock()
	rs.cache.pending(key)
	rs.mu.Unlock()
}

// lookup returns the remembered result of a command; pending reports a
// command this gateway sent whose result has not arrived.
func (rs *results) lookup(key resultKey) (res codecs.Result, found, pending bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	e, ok := rs.cache.get(key)
	if !ok {
		return codecs.Result{}, false, false
	}
	return e.res, !e.pending, e.pending
}

// run lists the end offsets of the results topics (retrying while the
// brokers cannot be reached), starts reading there, and dispatches results
// until ctx is done. topics maps each results topic to its aggregate.
func (rs *results) run(ctx context.Context, conn kafka.Connection, topics map[string]string) error {
	admin, err := conn.NewClient()
	if err != nil {
		return fmt.Errorf("gateway: results admin client: %w", err)
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	start := map[string]map[int32]kgo.Offset{}
	backoff := 100 * time.Millisecond
	for {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ends, err := kadm.NewClient(admin).ListEndOffsets(lctx, names...)
		cancel()
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			ends.Each(func(o kadm.ListedOffset) {
				if start[o.Topic] == nil {
					start[o.Topic] = map[int32]kgo.Offset{}
				}
				start[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset)
			})
			if len(start) == len(names) {
				break
			}
			err = fmt.Errorf("%d of %d results topics have partitions", len(start), len(names))
		}
		if ctx.Err() != nil {
			admin.Close()
			return nil
		}
		rs.logger.Warn("gateway: waiting for the results topics", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			admin.Close()
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	admin.Close()
	cl, err := conn.NewClient(
		kgo.ConsumePartitions(start),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return fmt.Errorf("gateway: results client: %w", err)
	}
	defer cl.Close()
	rs.positioned.Store(true)
	defer rs.positioned.Store(false)
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		read := time.Now()
		fetches.EachError(func(t string, p int32, err error) {
			rs.logger.Warn("gateway: read results", "topic", t, "partition", p, "error", err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			var res codecs.Result
			if err := json.Unmarshal(r.Value, &res); err != nil || res.CommandID == "" {
				rs.logger.Warn("gateway: undecodable result", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "error", err)
				return
			}
			// A clock behind the producer's can make this negative: 0.
			rs.metrics.delay.Observe(max(read.Sub(r.Timestamp).Seconds(), 0))
			rs.deliver(topics[r.Topic], res)
		})
	}
}

// resultCache remembers the results (and pending commands) of the last
// commands: at least the last capacity keys, at most twice as many. It
// keeps two generations of up to capacity keys, each a map made for
// capacity keys: new keys go into the current one, and when it is full
// the previous generation is dropped whole and a new current one made.
// (A cleared map, reused, keeps any table its last fill split, and those
// add up.) Evicting key by key from one map instead kept that map growing
// for minutes after it held capacity keys under constant churn
// (BenchmarkResultCacheChurn: 20 to 28 MiB for 65,536 results).
type resultCache struct {
	current, previous map[resultKey]cacheEntry
	capacity          int
}

type cacheEntry struct {
	res     codecs.Result
	pending bool
}

func newResultCache(capacity int) *resultCache {
	capacity = max(capacity, 1)
	return &resultCache{current: make(map[resultKey]cacheEntry, capacity), capacity: capacity}
}

// set stores e under key in the current generation, rotating the
// generations first when key is new to it and it is full.
func (c *resultCache) set(key resultKey, e cacheEntry) {
	if _, ok := c.current[key]; !ok && len(c.current) >= c.capacity {
		c.previous, c.current = c.current, make(map[resultKey]cacheEntry, c.capacity)
	}
	c.current[key] = e
}

// put records a result. A duplicate does not replace the result it
// repeats: a poll shows the first handling.
func (c *resultCache) put(key resultKey, res codecs.Result) {
	e, _ := c.get(key)
	if !e.pending && e.res.Status != "" && res.Status == codecs.StatusDuplicate && e.res.Status != codecs.StatusDuplicate {
		return
	}
	c.set(key, cacheEntry{res: res})
}

// pending records a command sent without a result yet.
func (c *resultCache) pending(key resultKey) {
	if e, ok := c.get(key); ok && e.res.Status != "" {
		return
	}
	c.set(key, cacheEntry{pending: true})
}

// get returns the entry of key, from the current generation or else the
// previous one.
func (c *resultCache) get(key resultKey) (cacheEntry, bool) {
	if e, ok := c.current[key]; ok {
		return e, true
	}
	e, ok := c.previous[key]
	return e, ok
}
