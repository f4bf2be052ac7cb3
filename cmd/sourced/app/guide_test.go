package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// bankExample is the example of the README's "Your own aggregate": a
// module tree of its own (package paths under example.com/bank), kept here
// so that one copy is both what the README shows and what
// TestYourOwnAggregateAsAModuleOfItsOwn builds. testdata is outside this
// module's packages, so go build ./... and go vet ./... skip it.
const bankExample = "testdata/bank"

const guideHeading = "## Your own aggregate"

// guideBlockPath is the start of the paragraph before a code block of the
// guide, which names the file the block shows: "`account/account.go`: ...".
var guideBlockPath = regexp.MustCompile("^`([a-z0-9_/]+\\.go)`")

// guideGoBlocks returns the go blocks of the README's guide by the file
// path that starts the paragraph before each.
func guideGoBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+guideHeading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", guideHeading)
	}
	s = s[i+1:]
	if j := strings.Index(s[len(guideHeading):], "\n## "); j >= 0 {
		s = s[:len(guideHeading)+j]
	}
	blocks := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```go" {
			continue
		}
		// The paragraph before the block starts with the file's path.
		k := i - 1
		for k >= 0 && strings.TrimSpace(lines[k]) == "" {
			k--
		}
		for k > 0 && strings.TrimSpace(lines[k-1]) != "" {
			k--
		}
		prev := ""
		if k >= 0 {
			prev = lines[k]
		}
		m := guideBlockPath.FindStringSubmatch(prev)
		if m == nil {
			t.Fatalf("README %s: a go block follows a paragraph starting %q, which names no file of the example", guideHeading, prev)
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if _, dup := blocks[m[1]]; dup {
			t.Fatalf("README %s shows %s twice", guideHeading, m[1])
		}
		blocks[m[1]] = strings.Join(body, "\n") + "\n"
	}
	return blocks
}

// TestGuideShowsTheExampleAsItIs checks that the go blocks of the README's
// "Your own aggregate" are the files of testdata/bank, every one of them and
// byte for byte, so the guide shows exactly what
// TestYourOwnAggregateAsAModuleOfItsOwn builds and runs.
func TestGuideShowsTheExampleAsItIs(t *testing.T) {
	blocks := guideGoBlocks(t)
	var files []string
	err := filepath.WalkDir(bankExample, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(bankExample, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(bankExample, f))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := blocks[f]
		if !ok {
			t.Errorf("README %s does not show %s (add a go block after a paragraph starting \"`%s`:\")", guideHeading, f, f)
			continue
		}
		if got != string(want) {
			t.Errorf("README %s shows %s otherwise than %s/%s:\n%s", guideHeading, f, bankExample, f, lineDiff(got, string(want)))
		}
	}
	for f := range blocks {
		if !slices.Contains(files, f) {
			t.Errorf("README %s shows %s, which is not in %s", guideHeading, f, bankExample)
		}
	}
}

// lineDiff names the first line where the README's block and the file
// differ.
func lineDiff(readme, file string) string {
	a, b := strings.Split(readme, "\n"), strings.Split(file, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y || i >= len(a) || i >= len(b) {
			return fmt.Sprintf("line %d:\n  README: %s\n  file:   %s", i+1, x, y)
		}
	}
	return "(same lines)"
}

// TestYourOwnAggregateAsAModuleOfItsOwn builds the README's bank example as
// a user would: a module of its own (example.com/bank) in a temporary
// directory, requiring sourced through a replace of this checkout, with
// this checkout's go.sum so nothing is looked up (GOPROXY=off: every
// module it needs is already in the module cache, since TestMain built
// sourced from the same go.mod). It then runs `bank dev` as a child process
// and drives it as the guide does, through the gateway and the command
// line: accepted, rejected (an overdraft), a duplicate, reads with
// min_version, a search of the balances view, a rebuild of the view, and
// load refusing an aggregate it has no generator for.
//
// dev runs its own embedded broker and bleve store here in both test modes:
// with SOURCED_TEST_KAFKA and SOURCED_TEST_ES set the test is the same,
// since what it checks is the example binary, not the servers.
func TestYourOwnAggregateAsAModuleOfItsOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the README's example module and runs its dev as a child process")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("building the example as a module of its own needs the go command on PATH: %v", err)
	}
	bank := buildBankExample(t, goTool)

	dataDir, listen, httpAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	env := []string{"SOURCED_BROKERS=", "SOURCED_PREFIX=", "SOURCED_TOKENS_FILE=", "SOURCED_ES_URL="}
	dev, out := startBinary(t, bank, env, "dev", "--data-dir", dataDir, "--listen", listen, "--http", httpAddr, "--partitions", "2")
	a := api{t: t, base: "http://" + httpAddr}
	a.waitReady(out.String)
	if s := out.String(); !strings.Contains(s, "try (commands of account: CloseAccount, Deposit, OpenAccount, Withdraw)") ||
		strings.Contains(s, "invoice") {
		t.Fatalf("dev's banner should show the account routes, not the reference catalog's:\n%s", s)
	}

	t.Run("the gateway accepts, rejects and answers a retry with the first result", func(t *testing.T) {
		a := api{t: t, base: a.base}
		r := a.post("/v1/account/acc-1/OpenAccount", `{"owner":"Ada Lovelace"}`)
		if r.status != http.StatusOK || r.str("status") != "accepted" || r.num("version") != 1 {
			t.Fatalf("open: %d %s", r.status, r.raw)
		}
		r = a.post("/v1/account/acc-1/Deposit", `{"amount":5000}`, "Idempotency-Key", "dep-1")
		if r.status != http.StatusOK || r.str("status") != "accepted" || r.num("version") != 2 {
			t.Fatalf("deposit: %d %s", r.status, r.raw)
		}
		r = a.post("/v1/account/acc-1/Deposit", `{"amount":5000}`, "Idempotency-Key", "dep-1")
		if r.status != http.StatusOK || r.str("status") != "duplicate" || r.num("version") != 2 ||
			r.header.Get("Idempotent-Replayed") != "true" || r.str("command_id") != "dep-1" {
			t.Fatalf("deposit retried: %d %v %s", r.status, r.header, r.raw)
		}
		r = a.post("/v1/account/acc-1/Withdraw", `{"amount":9000}`)
		wantStatus(t, "overdraft", r, http.StatusUnprocessableEntity, "insufficient_funds")
		if r.str("status") != "rejected" || r.num("version") != 2 {
			t.Fatalf("overdraft: %s", r.raw)
		}
		r = a.post("/v1/account/acc-1/Withdraw", `{"amount":2000,"memo":"rent"}`)
		wantStatus(t, "a field Withdraw does not have", r, http.StatusUnprocessableEntity, codecs.RejectMalformed)
		r = a.post("/v1/account/acc-1/Withdraw", `{"amount":2000}`)
		if r.status != http.StatusOK || r.str("status") != "accepted" || r.num("version") != 3 {
			t.Fatalf("withdraw: %d %s", r.status, r.raw)
		}
		r = a.post("/v1/account/acc-1/CloseAccount", "")
		wantStatus(t, "close with money left", r, http.StatusUnprocessableEntity, "balance_not_zero")
		r = a.post("/v1/account/nobody/Deposit", `{"amount":1}`)
		wantStatus(t, "deposit to an account never opened", r, http.StatusUnprocessableEntity, codecs.RejectNotFound)
	})

	t.Run("reads with min_version and searches the balances view", func(t *testing.T) {
		a := api{t: t, base: a.base}
		r := a.get("/v1/account/acc-1?min_version=3")
		if r.status != http.StatusOK || r.num("version") != 3 || !bytes.Contains(r.raw, []byte(`"balance":3000`)) ||
			!bytes.Contains(r.raw, []byte(`"owner":"Ada Lovelace"`)) {
			t.Fatalf("snapshot at min_version 3: %d %s", r.status, r.raw)
		}
		r = a.get("/v1/views/balances/acc-1?min_version=3")
		if r.status != http.StatusOK || r.num("version") != 3 || !bytes.Contains(r.raw, []byte(`"balance":3000`)) ||
			!bytes.Contains(r.raw, []byte(`"status":"open"`)) {
			t.Fatalf("balances document at min_version 3: %d %s", r.status, r.raw)
		}
		r = a.get("/v1/views/balances?q=ada&filter=status:open&sort=balance:desc")
		if hits := r.list("hits"); r.status != http.StatusOK || r.num("total") != 1 || len(hits) != 1 ||
			hits[0].(map[string]any)["id"] != "acc-1" {
			t.Fatalf("search: %d %s", r.status, r.raw)
		}
		r = a.get("/v1/views/balances?filter=balance:-1")
		if r.status != http.StatusOK || r.num("total") != 0 {
			t.Fatalf("search for a negative balance: %d %s", r.status, r.raw)
		}
	})

	t.Run("the command line sends, reads and rebuilds", func(t *testing.T) {
		code, r := sendWith(t, bank, listen, "account", "acc-2", "OpenAccount", `{"owner":"Grace Hopper"}`)
		if code != 0 || r.Status != codecs.StatusAccepted || r.Version != 1 {
			t.Fatalf("send OpenAccount: exit %d, %+v", code, r)
		}
		code, r = sendWith(t, bank, listen, "account", "acc-2", "Withdraw", `{"amount":1}`)
		if code != 1 || r.Error == nil || r.Error.Code != "insufficient_funds" {
			t.Fatalf("send Withdraw from an empty account: exit %d, %+v", code, r)
		}
		code, r = sendWith(t, bank, listen, "account", "acc-2", "CloseAccount", "--command-id", "close-2")
		if code != 0 || r.Status != codecs.StatusAccepted || r.Version != 2 {
			t.Fatalf("send CloseAccount: exit %d, %+v", code, r)
		}
		code, r = sendWith(t, bank, listen, "account", "acc-2", "CloseAccount", "--command-id", "close-2")
		if code != 0 || r.Status != codecs.StatusDuplicate || r.Version != 2 {
			t.Fatalf("send CloseAccount again with its command id: exit %d, %+v", code, r)
		}
		code, r = sendWith(t, bank, listen, "account", "acc-2", "Deposit", `{"amount":1}`)
		if code != 1 || r.Error == nil || r.Error.Code != "account_closed" {
			t.Fatalf("send Deposit to a closed account: exit %d, %+v", code, r)
		}
		code, got := runBank(t, bank, listen, "state", "get", "account", "acc-2")
		if code != 0 || !strings.Contains(got, `"version":2`) || !strings.Contains(got, `"closed":true`) {
			t.Fatalf("state get: exit %d:\n%s", code, got)
		}
		if got := tailEvents(t, bank, listen, "AccountClosed", "events", "tail", "account", "acc-2", "--from-beginning"); !strings.Contains(got, `"type":"AccountOpened"`) {
			t.Fatalf("events tail: no AccountOpened before AccountClosed:\n%s", got)
		}

		a := api{t: t, base: a.base}
		if r := a.get("/v1/views/balances/acc-2?min_version=2"); r.status != http.StatusOK || !bytes.Contains(r.raw, []byte(`"status":"closed"`)) {
			t.Fatalf("balances document of the closed account: %d %s", r.status, r.raw)
		}
		code, got = runBank(t, bank, listen, "view", "rebuild", "balances", "--gateway", a.base)
		if code != 0 || !strings.Contains(got, "balances now serves generation 2 (balances-v2)") {
			t.Fatalf("view rebuild balances --gateway: exit %d:\n%s", code, got)
		}
		for _, id := range []string{"acc-1", "acc-2"} {
			if r := a.get("/v1/views/balances/" + id); r.status != http.StatusOK || r.str("index") != "balances-v2" {
				t.Fatalf("%s after the rebuild: %d %s", id, r.status, r.raw)
			}
		}
		r2 := a.get("/v1/views/balances?filter=status:closed")
		if hits := r2.list("hits"); r2.num("total") != 1 || len(hits) != 1 || hits[0].(map[string]any)["id"] != "acc-2" {
			t.Fatalf("search after the rebuild: %d %s", r2.status, r2.raw)
		}
	})

	t.Run("load says it knows only the reference aggregates", func(t *testing.T) {
		code, got := runBank(t, bank, listen, "load", "--aggregate", "account", "--duration", "1s")
		if code != exitUsage || !strings.Contains(got, "only for the reference aggregates invoice and profile") {
			t.Fatalf("load --aggregate account: exit %d:\n%s", code, got)
		}
	})

	if err := dev.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := dev.Wait(); err != nil {
		t.Fatalf("bank dev did not stop cleanly on Ctrl-C: %v", err)
	}
}

// buildBankExample copies testdata/bank to a temporary directory, makes it
// the module example.com/bank requiring this checkout, and builds its
// command. It returns the binary.
func buildBankExample(t *testing.T, goTool string) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(bankExample)); err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(goMod)
	mod := "module example.com/bank\n\n" + string(goLine) + "\n\n" +
		"require github.com/b2dc4357/sourced v0.0.0\n\n" +
		"replace github.com/b2dc4357/sourced => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bank")
	// -mod=mod lets go add sourced's own requirements to the new go.mod,
	// as `go mod tidy` would for a user; the build cache (GOCACHE) is
	// this process's, so only the example's packages and the link are new.
	build := exec.Command(goTool, "build", "-mod=mod", "-o", bin, "./cmd/bank")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build the example as module example.com/bank: %v\n%s", err, out)
	}
	t.Logf("built the example module in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// runBank runs the example binary with SOURCED_BROKERS set and returns its
// exit code and combined output.
func runBank(t *testing.T, bank, brokers string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bank, args...)
	cmd.Env = append(os.Environ(), "SOURCED_BROKERS="+brokers, "SOURCED_PREFIX=")
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

// tailEvents runs the example binary's events tail (which follows new
// events until stopped) until a line holds until, then stops it, and
// returns what it printed.
func tailEvents(t *testing.T, bank, brokers, until string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bank, args...)
	cmd.Env = append(os.Environ(), "SOURCED_BROKERS="+brokers, "SOURCED_PREFIX=")
	out := &safeBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	eventually(t, 30*time.Second, func() string {
		if !strings.Contains(out.String(), until) {
			return fmt.Sprintf("%v printed no %s:\n%s", args, until, out)
		}
		return ""
	})
	return out.String()
}
