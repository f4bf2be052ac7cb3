package telemetry

import (
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// limitListener is a net.Listener that keeps at most cap(sem) connections
// open (no bound when sem is nil): Accept waits for a slot before it
// accepts, so further clients wait in the kernel's listen backlog. open
// counts the connections open.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	open      prometheus.Gauge
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, limit int, open prometheus.Gauge) *limitListener {
	l := &limitListener{Listener: ln, open: open, done: make(chan struct{})}
	if limit > 0 {
		l.sem = make(chan struct{}, limit)
	}
	return l
}

// Accept waits for a free slot, then for a connection. It returns
// net.ErrClosed once Close was called.
func (l *limitListener) Accept() (net.Conn, error) {
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.free()
		return nil, err
	}
	l.open.Inc()
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) free() {
	if l.sem != nil {
		<-l.sem
	}
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back on its first Close.
type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Dec()
		c.l.free()
	})
	return err
}
