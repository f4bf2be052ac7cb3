package app

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
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
	out := &safeBuffer{}
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

// outputOf returns what a process started by startProcess printed so far.
func outputOf(cmd *exec.Cmd) string {
	return cmd.Stdout.(*safeBuffer).String()
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
	k := newTestKafka(t, t.TempDir())
	t.Setenv("SOURCED_PREFIX", k.prefix)
	listen := k.brokers
	commands := k.topics("invoice").Commands

	t.Run("a role refuses to start before its topics exist", func(t *testing.T) {
		code, out := runSourced(t, listen, "run", "processor", "--aggregate", "invoice", "--data-dir", t.TempDir())
		if code != 1 || !strings.Contains(out, "topic missing: "+commands) || !strings.Contains(out, "sourced topics ensure") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("an unknown aggregate is a usage error", func(t *testing.T) {
		if code, out := runSourced(t, listen, "run", "processor", "--aggregate", "nope"); code != 4 || !strings.Contains(out, "unknown aggregate") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if code, out := runSourced(t, listen, "send", "nope", "x-1", "Create"); code != 4 || !strings.Contains(out, `unknown aggregate "nope" (known: invoice, profile)`) {
			t.Fatalf("send to an unknown aggregate: exit %d:\n%s", code, out)
		}
	})
	t.Run("a replication factor above the broker count fails clearly before creating anything", func(t *testing.T) {
		code, out := runSourced(t, listen, append(k.ensureArgs(3), "--replication", "3")...)
		if code != 1 || !strings.Contains(out, "replication factor 3 exceeds the 1 broker(s) of the cluster") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		code, out = runSourced(t, listen, "run", "processor", "--aggregate", "invoice", "--data-dir", t.TempDir())
		if code != 1 || !strings.Contains(out, "topic missing: "+commands) {
			t.Fatalf("a refused ensure created topics: exit %d:\n%s", code, out)
		}
	})
	t.Run("min.insync.replicas above the replication factor fails clearly", func(t *testing.T) {
		code, out := runSourced(t, listen, append(k.ensureArgs(3), "--min-insync-replicas", "2")...)
		if code != 1 || !strings.Contains(out, "min.insync.replicas 2 exceeds the replication factor 1") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	if code, out := runSourced(t, listen, append(k.ensureArgs(3), "--min-insync-replicas", "1")...); code != 0 {
		t.Fatalf("topics ensure: exit %d:\n%s", code, out)
	}
	t.Run("ensuring another partition count fails clearly", func(t *testing.T) {
		code, out := runSourced(t, listen, k.ensureArgs(5)...)
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

	// A retry gets the first outcome, and send exits as the first handling did.
	code, r = send(t, listen, "profile", "u-1", "Follow", `{"user_id":"u-2"}`, "--expected-version", "0", "--command-id", "k-conflict")
	if code != 2 || r.Status != codecs.StatusConflict {
		t.Fatalf("send with a stale expected version: exit %d, %+v", code, r)
	}
	code, r = send(t, listen, "profile", "u-1", "Follow", `{"user_id":"u-2"}`, "--expected-version", "0", "--command-id", "k-conflict")
	if code != 2 || r.Status != codecs.StatusDuplicate || r.FirstStatus != codecs.StatusConflict {
		t.Fatalf("retry of a conflict: exit %d, %+v; want exit 2, a duplicate of the conflict", code, r)
	}
	code, r = send(t, listen, "profile", "u-1", "Follow", `{"user_id":"u-3"}`, "--expected-version", "0", "--command-id", "k-conflict")
	if code != 1 || r.Status != codecs.StatusRejected || r.Error == nil || r.Error.Code != "idempotency_key_reused" {
		t.Fatalf("the same id with other data: exit %d, %+v; want exit 1, idempotency_key_reused", code, r)
	}

	code, out := runSourced(t, listen, "state", "get", "profile", "u-1")
	if code != 0 || !strings.Contains(out, `"username":"ada"`) || !strings.Contains(out, `"version":1`) {
		t.Fatalf("state get: exit %d:\n%s", code, out)
	}
	if code, out := runSourced(t, listen, "state", "get", "profile", "u-404"); code != 1 || !strings.Contains(out, "not found") {
		t.Fatalf("state get of a missing profile: exit %d:\n%s", code, out)
	}
	tail := exec.Command(binary, "events", "tail", "profile", "u-1", "--from-beginning")
	tail.Env = append(os.Environ(), "SOURCED_BROKERS="+listen)
	var tailOut safeBuffer
	tail.Stdout = &tailOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(tailOut.String(), `"type":"UsernameSet"`) {
		if time.Now().After(deadline) {
			_ = tail.Process.Kill()
			t.Fatalf("events tail printed %q", tailOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = tail.Process.Signal(syscall.SIGTERM)
	if err := tail.Wait(); err != nil {
		t.Fatalf("events tail did not stop cleanly: %v", err)
	}
}

// safeBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
