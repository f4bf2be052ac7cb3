package app

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock returns the lines of the first sh block after heading in the
// README, continuation lines joined and comments removed.
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	end := strings.Index(s[start+6:], "```")
	block := strings.ReplaceAll(s[start+6:start+6+end], "\\\n", "")
	comment := regexp.MustCompile(`\s+# .*$`)
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(comment.ReplaceAllString(l, "")); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

var httpServing = regexp.MustCompile(`"http serving" addr=(\S+)`)

// TestRunningTheRolesSeparatelyAsTheREADMESays runs the block of "Running
// the roles separately" as typed, in an empty directory: the broker, the
// topics, a processor, a publisher and a gateway on one machine (each role
// on its default --http), a tokens file, and a command through the
// gateway. Only the broker's and the gateway's fixed ports are replaced by
// free ones, and the other lines find the broker through SOURCED_BROKERS.
func TestRunningTheRolesSeparatelyAsTheREADMESays(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, tool := range []string{"sh", "openssl", "curl", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README block needs %s: %v", tool, err)
		}
	}
	lines := readmeBlock(t, "## Running the roles separately")
	dir := t.TempDir()
	brokerAddr, gatewayAddr := freeAddr(t), freeAddr(t)
	replace := strings.NewReplacer("127.0.0.1:9092", brokerAddr, "127.0.0.1:8081", gatewayAddr)
	var env []string
	for _, kv := range os.Environ() {
		// The roles' own --http defaults are under test (TestMain sets
		// SOURCED_HTTP for every other test).
		if !strings.HasPrefix(kv, "SOURCED_") {
			env = append(env, kv)
		}
	}
	env = append(env, "SOURCED_BROKERS="+brokerAddr)

	var accepted bool
	for _, line := range lines {
		line = replace.Replace(line)
		if !strings.HasPrefix(line, "./sourced ") {
			sh := exec.Command("sh", "-c", line)
			sh.Dir = dir
			out, err := sh.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			if strings.HasPrefix(line, "curl ") {
				if !strings.Contains(string(out), `"status":"accepted"`) {
					t.Fatalf("%s answered %s, want an accepted command", line, out)
				}
				accepted = true
			}
			continue
		}
		args := strings.Fields(strings.TrimPrefix(line, "./sourced "))
		cmd := exec.Command(binary, args...)
		cmd.Dir, cmd.Env = dir, env
		if args[0] == "topics" {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			continue
		}
		out := &safeBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			if err := <-exited; err != nil {
				t.Errorf("%s did not stop cleanly on SIGTERM: %v\n%s", line, err, out)
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", line, out)
			}
		})
		if args[0] == "broker" {
			waitListening(t, brokerAddr)
			continue
		}
		// Every role serves /readyz on its own --http, the default one
		// unless the line gives it: wait until it is ready.
		deadline := time.Now().Add(90 * time.Second)
	wait:
		for {
			if m := httpServing.FindStringSubmatch(out.String()); m != nil {
				resp, err := http.Get("http://" + m[1] + "/readyz")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break wait
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never served /readyz:\n%s", line, out)
			}
			select {
			case err := <-exited:
				exited <- err // for the cleanup
				t.Fatalf("%s exited: %v\n%s", line, err, out)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if !accepted {
		t.Fatal("the block sent no command through the gateway")
	}
	if _, err := os.Stat(filepath.Join(dir, "replica-1", "state")); err != nil {
		t.Errorf("the processor kept no state in ./replica-1: %v", err)
	}
}
