package telemetry_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b2dc4357/sourced/cmd/sourced/telemetry"
	"github.com/b2dc4357/sourced/cmd/sourced/telemetry/telemetrytest"
)

// closedBy is how long a test waits for the server to close a connection
// whose bound (configured below a second) ran out: long enough for a
// loaded machine, and far shorter than the minutes a client without
// bounds would hold it.
const closedBy = 15 * time.Second

// readUntilClosed reads conn until the server closes it and returns what
// it read; it fails the test when the connection is still open after
// closedBy.
func readUntilClosed(t *testing.T, conn net.Conn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(closedBy)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server still holds the connection after %s (read %q)", closedBy, b)
	}
	// EOF (io.ReadAll returns nil) or a reset: closed either way.
	return string(b)
}

// trickle writes one byte of b every interval until it is written or a
// write fails (the server closed the connection).
func trickle(conn net.Conn, b string, interval time.Duration) {
	for i := range len(b) {
		if _, err := conn.Write([]byte{b[i]}); err != nil {
			return
		}
		time.Sleep(interval)
	}
}

func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// bodyHandler reads the body as the gateway does and answers its length,
// or 408 when the read timeout cut it off.
func bodyHandler(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		http.Error(w, "request_timeout", http.StatusRequestTimeout)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		fmt.Fprintln(w, len(b))
	}
}

func TestServerBoundsSlowAndAbandonedClients(t *testing.T) {
	s := telemetry.NewServer("127.0.0.1:0", prometheus.NewRegistry(), nil)
	s.ReadHeaderTimeout = 300 * time.Millisecond
	s.ReadTimeout = 600 * time.Millisecond
	s.IdleTimeout = 300 * time.Millisecond
	s.MaxHeaderBytes = 4 << 10
	s.Handle("POST /body", http.HandlerFunc(bodyHandler))
	base, _, _ := start(t, s)

	t.Run("a client that connects and sends nothing is disconnected", func(t *testing.T) {
		readUntilClosed(t, dial(t, base))
	})
	t.Run("a client trickling its headers is disconnected", func(t *testing.T) {
		conn := dial(t, base)
		go trickle(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "+strings.Repeat("a", 600)+"\r\n\r\n", 100*time.Millisecond)
		if got := readUntilClosed(t, conn); strings.Contains(got, "200 OK") {
			t.Fatalf("the trickled request was served: %q", got)
		}
	})
	t.Run("a client trickling its body one byte at a time gets 408 and is disconnected", func(t *testing.T) {
		conn := dial(t, base)
		if _, err := io.WriteString(conn, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		go trickle(conn, strings.Repeat("b", 1000), 100*time.Millisecond)
		got := readUntilClosed(t, conn)
		if !strings.HasPrefix(got, "HTTP/1.1 408") {
			t.Fatalf("answer %q, want 408", got)
		}
	})
	t.Run("a body sent in time is read in full", func(t *testing.T) {
		resp, err := http.Post(base+"/body", "application/json", strings.NewReader(strings.Repeat("c", 100000)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "100000" {
			t.Fatalf("%d %q", resp.StatusCode, b)
		}
	})
	t.Run("an idle keep-alive connection is closed", func(t *testing.T) {
		conn := dial(t, base)
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("/healthz: %d, close %v: want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
		}
		readUntilClosed(t, conn)
	})
	t.Run("headers over the limit are answered 431", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("h", 8<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
}

func TestServerBoundsOpenConnections(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := telemetry.NewServer("127.0.0.1:0", reg, nil)
	s.MaxConns = 2
	s.ReadHeaderTimeout = time.Minute // the held connections stay until closed
	base, _, _ := start(t, s)
	open := func() float64 {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		f := telemetrytest.Families{}
		for _, fam := range fams {
			f[fam.GetName()] = fam
		}
		v, _ := f.Value("sourced_http_open_connections")
		return v
	}
	held := []net.Conn{dial(t, base), dial(t, base)}
	deadline := time.Now().Add(closedBy)
	for open() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("open connections %v, want 2", open())
		}
		time.Sleep(10 * time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	// A negative check: it can only pass wrongly on a slow machine,
	// never fail wrongly.
	select {
	case err := <-done:
		t.Fatalf("a third connection was served while two held the bound of 2 (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if v := open(); v != 2 {
		t.Fatalf("open connections %v, want 2", v)
	}
	held[0].Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the third connection, once a slot was free: %v", err)
		}
	case <-time.After(closedBy):
		t.Fatal("the third connection was not served after a held one closed")
	}
}
