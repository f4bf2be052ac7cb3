package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// startProcess runs the sourced binary with args and SOURCED_BROKERS set,
// and stops it with SIGTERM at the end of the test, expecting exit 0.
func startProcess(t *testing.T, brokers string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SOURCED_BROKERS="+brokers)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("%v did not stop cleanly: %v\n%s", args, err, out)
			}
		}
		if t.Failed() {
			t.Logf("%v output:\n%s", args, out)
		}
	})
	return cmd
}

func runSourced(t *testing.T, brokers string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SOURCED_BROKERS="+brokers)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestRolesRunSeparatelyAgainstTheBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the broker and roles as child processes (~20 s)")
	}
	dataDir, listen := t.TempDir(), freeAddr(t)
	startProcess(t, listen, "broker", "--data-dir", dataDir, "--listen", listen)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("tcp", listen)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker does not listen on %s: %v", listen, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("a role refuses to start before its topics exist", func(t *testing.T) {
		code, out := runSourced(t, listen, "run", "processor", "--aggregate", "invoice", "--data-dir", t.TempDir())
		if code != 1 || !strings.Contains(out, "topic missing: invoice-commands") || !strings.Contains(out, "sourced topics ensure") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("an unknown aggregate is a usage error", func(t *testing.T) {
		if code, out := runSourced(t, listen, "run", "processor", "--aggregate", "nope"); code != 4 || !strings.Contains(out, "unknown aggregate") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	if code, out := runSourced(t, listen, "topics", "ensure", "--partitions", "3", "--no-compaction"); code != 0 {
		t.Fatalf("topics ensure: exit %d:\n%s", code, out)
	}
	t.Run("ensuring another partition count fails clearly", func(t *testing.T) {
		code, out := runSourced(t, listen, "topics", "ensure", "--partitions", "5", "--no-compaction")
		if code != 1 || !strings.Contains(out, "partitions is 3, want 5") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	startProcess(t, listen, "run", "processor", "--aggregate", "profile", "--data-dir", t.TempDir())
	startProcess(t, listen, "run", "publisher", "--aggregate", "profile", "--data-dir", t.TempDir())
	code, r := send(t, listen, "profile", "u-1", "SetUsername", `{"username":"ada"}`, "--timeout", "20s")
	if code != 0 || r.Status != codecs.StatusAccepted || r.Version != 1 {
		t.Fatalf("send: exit %d, %+v", code, r)
	}
}
