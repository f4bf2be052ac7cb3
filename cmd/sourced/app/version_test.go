package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestVersionIsStampedByLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "sourced")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7-test", "-o", bin, "github.com/b2dc4357/sourced/cmd/sourced").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("sourced version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "sourced 9.8.7-test go1.") {
		t.Fatalf("sourced version printed %q, want the stamped version first", out)
	}
}

func TestProbeSucceedsOnlyOn2xx(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, `{"failing":["tables"]}`, http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"probe", srv.URL + "/readyz"}, &stdout, &stderr); code != exitError {
		t.Fatalf("probe of a 503 exited %d, want %d", code, exitError)
	}
	if !strings.Contains(stderr.String(), "503") || !strings.Contains(stderr.String(), "tables") {
		t.Errorf("probe of a 503 printed %q, want the status and body", stderr.String())
	}
	ready.Store(true)
	if code := run([]string{"probe", srv.URL + "/readyz"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("probe of a 200 exited %d: %s", code, stderr.String())
	}
	if code := run([]string{"probe"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("probe without a URL exited %d, want %d", code, exitUsage)
	}
}
