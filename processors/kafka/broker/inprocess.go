package broker

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// inProcessListener accepts the network's connections and in-process ones
// (Broker.Dial): a client in the broker's own process (every role of
// `sourced dev`) talks to it over a net.Pipe instead of loopback TCP, with
// no system call per request and response. In `sourced dev` at 1,000
// commands/s, loopback reads and writes were about a seventh of the
// process's CPU.
type inProcessListener struct {
	net.Listener
	local   chan net.Conn
	network chan acceptResult
	closed  chan struct{}
	once    sync.Once
}

type acceptResult struct {
	conn net.Conn
	err  error
}

func newInProcessListener(ln net.Listener) *inProcessListener {
	l := &inProcessListener{Listener: ln, local: make(chan net.Conn), network: make(chan acceptResult), closed: make(chan struct{})}
	go l.acceptNetwork()
	return l
}

// acceptNetwork hands the network listener's connections to Accept until
// it fails (it was closed).
func (l *inProcessListener) acceptNetwork() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.network <- acceptResult{c, err}:
		case <-l.closed:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// Accept returns the next connection, in-process or from the network.
func (l *inProcessListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.local:
		return c, nil
	case r := <-l.network:
		return r.conn, r.err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close closes the network listener and refuses in-process connections.
func (l *inProcessListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// dial returns the client end of a new in-process connection, whose other
// end the broker accepts.
func (l *inProcessListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.local <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	_ = client.Close()
	_ = server.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("embedded broker at %s: %w", l.Addr(), net.ErrClosed)
}

// inProcess tracks the broker's listeners by address, for Dial.
type inProcess struct {
	listeners sync.Map // address -> *inProcessListener
	off       bool     // no in-process connections (a broker with TLS)
}

// listen is kfake's listen function: the network listener on addr, wrapped
// to accept in-process connections too (unless they are off).
func (p *inProcess) listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil || p.off {
		return ln, err
	}
	l := newInProcessListener(ln)
	p.listeners.Store(ln.Addr().String(), l)
	return l, nil
}

// Dial connects to the broker in-process when address is one of its
// listeners (the address clients bootstrap from and the one its metadata
// advertises), and through the network otherwise. It has the signature of
// kafka.Connection.Dial. A broker with TLS has no in-process listeners
// (clients encrypt only what they dial themselves): it is always dialled
// through the network.
func (b *Broker) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if v, ok := b.inProcess.listeners.Load(address); ok {
		return v.(*inProcessListener).dial(ctx)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}
