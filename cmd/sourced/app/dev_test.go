package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/views/bleve"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sourced-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sourced")
	// Every child serves /metrics on a free port (it prints or logs it),
	// so processes of one test, or of tests in parallel, never collide on
	// the default 127.0.0.1:8080.
	os.Setenv("SOURCED_HTTP", "127.0.0.1:0")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/b2dc4357/sourced/cmd/sourced").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build sourced: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type devProcess struct {
	cmd *exec.Cmd
	out *safeBuffer
}

// startDev runs dev on dataDir with kafkaArgs (devKafka) and extra
// arguments.
func startDev(t *testing.T, dataDir string, kafkaArgs []string, extra ...string) *devProcess {
	t.Helper()
	cmd, out := startChild(t, []string{"SOURCED_DATA_DIR=" + dataDir, "SOURCED_BROKERS="},
		append(append([]string{"dev", "--partitions", "2"}, kafkaArgs...), extra...)...)
	return &devProcess{cmd: cmd, out: out}
}

// startChild runs the sourced binary with args, with env added to this
// process's environment, collecting what it prints. At the end of the test
// it is killed if it still runs, and its output is logged if the test
// failed.
func startChild(t testing.TB, env []string, args ...string) (*exec.Cmd, *safeBuffer) {
	t.Helper()
	return startBinary(t, binary, env, args...)
}

// startBinary is startChild for another binary built on package app (the
// README's bank example).
func startBinary(t testing.TB, bin string, env []string, args ...string) (*exec.Cmd, *safeBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &safeBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%v output:\n%s", args, out)
		}
	})
	return cmd, out
}

func (d *devProcess) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("dev did not stop cleanly on Ctrl-C: %v", err)
	}
}

// send runs `sourced send` until the broker answers (dev may still be
// starting) and returns the exit code and the result.
func send(t *testing.T, listen string, args ...string) (int, codecs.Result) {
	t.Helper()
	return sendWith(t, binary, listen, args...)
}

// sendWith is send with another binary built on package app.
func sendWith(t *testing.T, bin, listen string, args ...string) (int, codecs.Result) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cmd := exec.Command(bin, append([]string{"send"}, args...)...)
		cmd.Env = append(os.Environ(), "SOURCED_BROKERS="+listen)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if (code == 3 || code == 4) && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond) // not ready yet
			continue
		}
		var r codecs.Result
		if code != 4 {
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("send %v: exit %d, output %q: %v", args, code, stdout.String(), err)
			}
		}
		return code, r
	}
}

func TestDevRunsCommandsAndResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sourced dev as a child process (~30 s)")
	}
	dataDir := t.TempDir()
	kafkaArgs, k := devKafka(t)
	listen := k.brokers
	dev := startDev(t, dataDir, kafkaArgs)

	code, r := send(t, listen, "invoice", "inv-1", "CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`, "--command-id", "k1")
	if code != 0 || r.Status != codecs.StatusAccepted || r.Version != 1 {
		t.Fatalf("create: exit %d, %+v", code, r)
	}
	code, r = send(t, listen, "invoice", "inv-1", "IssueInvoice")
	if code != 1 || r.Error == nil || r.Error.Code != "empty_invoice" {
		t.Fatalf("issue an empty invoice: exit %d, %+v", code, r)
	}
	code, r = send(t, listen, "invoice", "inv-1", "AddLineItem", `{"line_id":"l1","description":"w","quantity":1,"unit_price":100}`, "--expected-version", "0")
	if code != 2 || r.Status != codecs.StatusConflict {
		t.Fatalf("stale expected version: exit %d, %+v", code, r)
	}
	if code, out := runSourced(t, listen, "send", "invoice", "inv-1", "AddLineItem", `{not json}`); code != 4 || !strings.Contains(out, "not valid JSON") {
		t.Fatalf("invalid JSON data: exit %d, want 4:\n%s", code, out)
	}
	dev.stop(t)

	// The store is clean and readable offline.
	out, err := exec.Command(binary, "state", "dump", "--data-dir", dataDir, "--topic", k.topics("invoice").Table).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"key":"inv-1"`) || !strings.Contains(string(out), `"clean":true`) {
		t.Fatalf("state dump: %v\n%s", err, out)
	}

	// A restart resumes with the data: the retry is a duplicate of the
	// first result, and the aggregate continues at version 2.
	dev = startDev(t, dataDir, kafkaArgs)
	code, r = send(t, listen, "invoice", "inv-1", "CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`, "--command-id", "k1")
	if code != 0 || r.Status != codecs.StatusDuplicate || r.Version != 1 {
		t.Fatalf("retry after restart: exit %d, %+v", code, r)
	}
	code, r = send(t, listen, "invoice", "inv-1", "AddLineItem", `{"line_id":"l1","description":"w","quantity":1,"unit_price":100}`, "--expected-version", "1")
	if code != 0 || r.Version != 2 {
		t.Fatalf("add after restart: exit %d, %+v", code, r)
	}
	dev.stop(t)

	// The embedded view store is rebuilt from the log while its owner is
	// stopped (only the broker runs), and serves the latest state.
	var broker *exec.Cmd
	if !k.real {
		broker = startProcess(t, listen, "broker", "--data-dir", dataDir, "--listen", listen)
		waitListening(t, listen)
	}
	code, rebuildOut := runSourced(t, listen, "view", "rebuild", "invoice-search", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(rebuildOut, "invoice-search now serves generation 2") {
		t.Fatalf("view rebuild: exit %d:\n%s", code, rebuildOut)
	}
	if broker != nil {
		_ = broker.Process.Signal(syscall.SIGTERM)
		if err := broker.Wait(); err != nil {
			t.Fatalf("broker stop: %v", err)
		}
	}
	store, err := bleve.Open(bleve.Config{Dir: filepath.Join(dataDir, "views")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	doc, err := store.Get(context.Background(), "invoice-search", "inv-1")
	if err != nil || doc.Version != 2 || doc.Index != "invoice-search-v2" || !strings.Contains(string(doc.Source), `"customer":"acme"`) {
		t.Fatalf("invoice-search after the rebuild: %+v, %v", doc, err)
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	out, err := exec.Command(binary, "frobnicate").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("exit %v, output %s", err, out)
	}
}
