package elastic_test

import (
	"sync"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// manualClock is a clock the test moves forward.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A delete's tombstone must outlive Elasticsearch's 60 s default: a stale
// write that arrives minutes after the delete (a projector that lost its
// partition while retrying through an outage) must not bring the document
// back. Indices created from a view mapping keep tombstones for
// views.DefaultGCDeletes.
func TestViewIndicesKeepTombstonesLongerThanTheDefault(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	s, _ := newStore(t, estest.Options{Clock: clock.Now}) // server default: 60 s, as in ES
	createIndex(t, s, "v")

	res := bulk(t, s, put("v", "gone", 5, `{"name":"Ann"}`), del("v", "gone", 6))
	wantOutcome(t, "write", res[0], views.Applied, 201)
	wantOutcome(t, "delete", res[1], views.Applied, 200)

	clock.advance(10 * time.Minute)
	res = bulk(t, s, put("v", "gone", 5, `{"name":"stale"}`))
	wantOutcome(t, "stale write 10 minutes after the delete", res[0], views.Stale, 409)

	clock.advance(views.DefaultGCDeletes)
	res = bulk(t, s, put("v", "gone", 5, `{"name":"stale"}`))
	wantOutcome(t, "stale write after gc_deletes", res[0], views.Applied, 201)

	// Without the setting, the server's 60 s default applies: the contrast
	// shows the setting is what keeps the tombstone.
	short := testMapping
	short.GCDeletes = time.Minute
	if err := s.CreateIndex(t.Context(), "w", short); err != nil {
		t.Fatal(err)
	}
	bulk(t, s, put("w", "gone", 5, `{"name":"Ann"}`), del("w", "gone", 6))
	clock.advance(2 * time.Minute)
	res = bulk(t, s, put("w", "gone", 5, `{"name":"stale"}`))
	wantOutcome(t, "stale write after a one-minute gc_deletes", res[0], views.Applied, 201)
}
