package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/cmd/sourced/load"
)

// runLoadJSON runs `sourced load ... --json` and returns its summary.
func runLoadJSON(t *testing.T, brokers string, args ...string) *load.Summary {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"load", "--json", "--brokers", brokers}, args...)...)
	cmd.Env = os.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("load %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	var s load.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("load %v: summary is not JSON: %v\n%s", args, err, stdout.String())
	}
	if !strings.Contains(stderr.String(), "load: [") {
		t.Errorf("load %v: no progress line on stderr:\n%s", args, stderr.String())
	}
	return &s
}

// checkLoad checks what a user relies on in a load summary against a
// healthy system: commands were accepted, every command sent is accounted
// for, and the only rejections are the deliberate ones.
func checkLoad(t *testing.T, s *load.Summary) {
	t.Helper()
	if s.Sent == 0 || s.Accepted == 0 {
		t.Fatalf("sent %d, accepted %d: want traffic", s.Sent, s.Accepted)
	}
	if got := s.Accepted + s.Rejected + s.Conflict + s.Duplicate + s.Other + s.NoResult + s.Shed; got != s.Sent {
		t.Errorf("accepted+rejected+conflict+duplicate+other+no-result+shed = %d, sent %d", got, s.Sent)
	}
	if s.NoResult != 0 || s.Conflict != 0 || s.Duplicate != 0 {
		t.Errorf("no result %d %v, conflict %d, duplicate %d: want none", s.NoResult, s.NoResultReasons, s.Conflict, s.Duplicate)
	}
	if s.Rejected == 0 || s.Rejected != s.RejectedExpected || s.UnexpectedTotal != 0 {
		t.Errorf("rejected %d (%d deliberate: %v), unexpected %d: %v", s.Rejected, s.RejectedExpected, s.Rejections, s.UnexpectedTotal, s.Unexpected)
	}
	if s.Latency.Count != uint64(s.Sent-s.Shed) || s.Latency.P50 <= 0 || s.Latency.P99 < s.Latency.P50 {
		t.Errorf("latency %+v", s.Latency)
	}
	if s.Throughput <= 0 || s.AchievedRate <= 0 {
		t.Errorf("throughput %.1f, achieved rate %.1f", s.Throughput, s.AchievedRate)
	}
}

// servesGateway reports whether dev serves the gateway's view routes on
// httpAddr: a document that does not exist is a 404 "not_found", not an
// unknown route.
func servesGateway(t *testing.T, httpAddr string) bool {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/v1/views/invoice-search/absent")
	if err != nil {
		t.Fatalf("dev http: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusNotFound && bytes.Contains(b, []byte(`"not_found"`))
}

func TestLoadAgainstDev(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sourced dev and sourced load as child processes (~40 s)")
	}
	dataDir, httpAddr := t.TempDir(), freeAddr(t)
	t.Setenv("SOURCED_HTTP", httpAddr)
	kafkaArgs, k := devKafka(t)
	listen := k.brokers
	dev := startDev(t, dataDir, kafkaArgs, devESArgs(t)...)
	// Wait until both processors answer.
	if code, r := send(t, listen, "invoice", "warm-1", "CreateInvoice", `{"customer":"c","currency":"EUR","due_date":"2026-12-31"}`); code != 0 {
		t.Fatalf("warm-up: exit %d %+v", code, r)
	}
	if code, r := send(t, listen, "profile", "warm-1", "SetUsername", `{"username":"w"}`); code != 0 {
		t.Fatalf("warm-up: exit %d %+v", code, r)
	}
	args := func(agg string) []string {
		return []string{"--aggregate", agg, "--rate", "150", "--duration", "3s", "--aggregates", "100", "--invalid", "0.1", "--drain", "20s"}
	}
	for _, agg := range load.Aggregates() {
		t.Run("kafka "+agg, func(t *testing.T) {
			s := runLoadJSON(t, listen, append(args(agg), "--via", "kafka")...)
			checkLoad(t, s)
			if s.Via != "kafka" || s.Aggregate != agg || s.View.Enabled || !strings.Contains(s.ViewNote, "no gateway") {
				t.Errorf("via %q aggregate %q, view %+v %q: want kafka, %s, and a note that view latency needs a gateway", s.Via, s.Aggregate, s.View, s.ViewNote, agg)
			}
		})
	}
	if !servesGateway(t, httpAddr) {
		t.Fatalf("dev does not serve the gateway's view routes on --http %s", httpAddr)
	}
	for _, agg := range load.Aggregates() {
		t.Run("gateway "+agg, func(t *testing.T) {
			s := runLoadJSON(t, listen, append(args(agg), "--via", "gateway", "--gateway", "http://"+httpAddr, "--view-sample", "5")...)
			checkLoad(t, s)
			v := s.View
			if !v.Enabled || v.Sampled == 0 || v.Visible != v.Sampled || v.Latency.Count != uint64(v.Visible) || v.Latency.P99 <= 0 {
				t.Errorf("view %+v %q: want every sampled change visible, with latencies", v, s.ViewNote)
			}
		})
	}

	// A gateway that is not there fails at once with a clear message.
	cmd := exec.Command(binary, "load", "--via", "gateway", "--gateway", "http://"+freeAddr(t), "--duration", "1s")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "ping gateway") {
		t.Errorf("load against no gateway: %v\n%s", err, out)
	}
	dev.stop(t)
}

func TestLoadUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--via", "carrier-pigeon"}, `--via "carrier-pigeon"`},
		{[]string{"--aggregate", "order"}, `aggregate "order"`},
		{[]string{"--rate", "0"}, "--rate and --duration must be > 0"},
		{[]string{"--aggregates", "0"}, "aggregates 0"},
		{[]string{"--gateway", "ftp://x"}, "want http(s)://host:port"},
	} {
		out, err := exec.Command(binary, append([]string{"load"}, tc.args...)...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 || !strings.Contains(string(out), tc.want) {
			t.Errorf("load %v: %v, want exit 4 mentioning %s:\n%s", tc.args, err, tc.want, out)
		}
	}
}
