package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// binary is the sourced binary built from ../cmd/sourced by TestMain.
var binary string

// testVersion is the version TestMain stamps into binary.
const testVersion = "7.7.7-deploy"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sourced-deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sourced")
	// Stamped as the Dockerfile stamps it (TestDockerfile checks it shows).
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binary, "./cmd/sourced")
	build.Dir = ".."
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build sourced: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagSpec is one flag of a sourced command, read from its -h output.
type flagSpec struct {
	name   string
	isBool bool
}

var (
	flagsMu    sync.Mutex
	flagsCache = map[string]map[string]flagSpec{}
	helpLine   = regexp.MustCompile(`^  -(\S+)(?: (\S+))?`)
)

// commandPath returns the words naming the sourced command args run:
// `run processor`, `topics ensure`, `view rebuild`, `probe`, ...
func commandPath(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	switch args[0] {
	case "run", "topics", "view", "offsets", "state", "events":
		if len(args) >= 2 {
			return args[:2]
		}
	}
	return args[:1]
}

// commandFlags runs `sourced <path> -h` and returns the flags it lists.
func commandFlags(t *testing.T, path []string) map[string]flagSpec {
	t.Helper()
	key := strings.Join(path, " ")
	flagsMu.Lock()
	defer flagsMu.Unlock()
	if f, ok := flagsCache[key]; ok {
		return f
	}
	cmd := exec.Command(binary, append(append([]string{}, path...), "-h")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, _ := cmd.CombinedOutput() // -h prints the synopsis, what the command does and its flags
	flags := map[string]flagSpec{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := helpLine.FindStringSubmatch(line); m != nil {
			flags[m[1]] = flagSpec{name: m[1], isBool: m[2] == ""}
		}
	}
	if len(flags) == 0 {
		t.Fatalf("`sourced %s -h` lists no flags (is %q a command?):\n%s", key, key, out)
	}
	flagsCache[key] = flags
	return flags
}

// envName is the variable a flag reads: data-dir → SOURCED_DATA_DIR.
func envName(flag string) string {
	return "SOURCED_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// invocation is one way a manifest runs sourced.
type invocation struct {
	where string            // e.g. "compose service gateway-1"
	args  []string          // arguments after the binary
	env   map[string]string // SOURCED_* variables it gets (values resolved)
}

// checkInvocation fails the test for every problem of inv.
func checkInvocation(t *testing.T, inv invocation) {
	t.Helper()
	for _, p := range invocationProblems(t, inv) {
		t.Error(p)
	}
}

// invocationProblems lists the flags and SOURCED_* variables inv passes
// that the command it runs does not have, and secrets it passes on the
// command line or as literal variables.
func invocationProblems(t *testing.T, inv invocation) []string {
	t.Helper()
	var problems []string
	path := commandPath(inv.args)
	if len(path) == 0 {
		return []string{inv.where + ": runs sourced without a command"}
	}
	flags := commandFlags(t, path)
	for i := len(path); i < len(inv.args); i++ {
		a := inv.args[i]
		if !strings.HasPrefix(a, "-") {
			continue // a positional argument
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, ok := flags[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: `sourced %s` has no flag --%s", inv.where, strings.Join(path, " "), name))
			continue
		}
		switch name {
		case "sasl-password", "es-password", "es-api-key":
			problems = append(problems, fmt.Sprintf("%s: passes --%s on the command line; use --%s-file", inv.where, name, name))
		}
		if !f.isBool && !hasValue {
			i++ // its value
		}
	}
	for k := range inv.env {
		if !strings.HasPrefix(k, "SOURCED_") || k == "SOURCED_LOG_LEVEL" {
			continue
		}
		found := false
		for name := range flags {
			if envName(name) == k {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: sets %s, but `sourced %s` has no flag it would set (ignored)", inv.where, k, strings.Join(path, " ")))
		}
		switch k {
		case "SOURCED_SASL_PASSWORD", "SOURCED_ES_PASSWORD", "SOURCED_ES_API_KEY":
			problems = append(problems, fmt.Sprintf("%s: sets %s in the manifest; mount it as a file and set %s_FILE", inv.where, k, k))
		}
	}
	sort.Strings(problems)
	return problems
}

func TestInvocationProblems(t *testing.T) {
	for _, c := range []struct {
		inv  invocation
		want int
	}{
		{invocation{args: []string{"run", "processor", "--aggregate", "invoice", "--http", "0.0.0.0:8080"},
			env: map[string]string{"SOURCED_BROKERS": "k:9092", "SOURCED_SASL_PASSWORD_FILE": "/f", "SOURCED_LOG_LEVEL": "debug"}}, 0},
		{invocation{args: []string{"view", "rebuild", "invoice-search", "--keep-old"}, env: map[string]string{"SOURCED_ES_URL": "https://es:9200"}}, 0},
		{invocation{args: []string{"run", "processor", "--aggregat", "invoice"}}, 1},
		{invocation{args: []string{"topics", "ensure"}, env: map[string]string{"SOURCED_ES_URL": "https://es:9200"}}, 1},
		{invocation{args: []string{"run", "processor", "--sasl-password", "x"}, env: map[string]string{"SOURCED_SASL_PASSWORD": "x"}}, 2},
	} {
		c.inv.where = strings.Join(c.inv.args, " ")
		if got := invocationProblems(t, c.inv); len(got) != c.want {
			t.Errorf("%s %v: %d problems %q, want %d", c.inv.where, c.inv.env, len(got), got, c.want)
		}
	}
}

// pinnedImage reports why an image reference is not pinned to a version,
// or "" when it is.
func pinnedImage(ref string) string {
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	name := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		name = ref[i+1:]
	}
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return "no tag (means latest)"
	case tag == "latest" || tag == "stable" || tag == "edge" || tag == "nonroot":
		return fmt.Sprintf("floating tag %q", tag)
	case !regexp.MustCompile(`^v?\d+\.\d+`).MatchString(tag):
		return fmt.Sprintf("tag %q names no version", tag)
	}
	return ""
}

func TestPinnedImage(t *testing.T) {
	for ref, pinned := range map[string]bool{
		"apache/kafka:4.1.0": true, "prom/prometheus:v3.5.0": true, "golang:1.26.8-bookworm": true,
		"ghcr.io/b2dc4357/sourced:0.1.0": true, "x@sha256:0123": true, "localhost:5000/x:1.2": true,
		"apache/kafka": false, "apache/kafka:latest": false, "grafana/grafana:main": false, "localhost:5000/x": false,
	} {
		if got := pinnedImage(ref) == ""; got != pinned {
			t.Errorf("pinnedImage(%q): pinned %v, want %v (%s)", ref, got, pinned, pinnedImage(ref))
		}
	}
}

// TestDockerfile checks the image build: pinned bases, a static build, a
// non-root runtime user, the version stamp, and that the binary it builds
// knows the stamp (`sourced version`).
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	stages := map[string]bool{}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, found %d FROM lines", len(froms))
	}
	for _, m := range froms {
		if m[1] != "scratch" && !stages[m[1]] {
			if why := pinnedImage(m[1]); why != "" {
				t.Errorf("FROM %s: %s", m[1], why)
			}
		}
		if m[2] != "" {
			stages[m[2]] = true
		}
	}
	final := df[strings.LastIndex(df, "\nFROM "):]
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=${VERSION}"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// go mod download, before the sources are copied, needs the go.mod of
	// every module go.mod replaces with a directory of the repository.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	download := strings.Index(df, "go mod download")
	for _, m := range regexp.MustCompile(`(?m)^replace\s+\S+\s+=>\s+\./(\S+)\s*$`).FindAllStringSubmatch(string(gomod), -1) {
		copyMod := regexp.MustCompile(`(?m)^COPY\s.*\b` + regexp.QuoteMeta(m[1]+"/go.mod") + `\b`).FindStringIndex(df)
		if copyMod == nil || download < 0 || copyMod[0] > download {
			t.Errorf("the Dockerfile must COPY %s/go.mod before go mod download (go.mod replaces a module with ./%s)", m[1], m[1])
		}
	}
	if m := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(final); m == nil || strings.HasPrefix(m[1], "0") || strings.HasPrefix(m[1], "root") {
		t.Errorf("the runtime stage must run as a non-root user, found %v", m)
	}
	// The stamp the Dockerfile passes reaches `sourced version`.
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sourced "+testVersion+" ") {
		t.Fatalf("sourced version = %q, %v; want the stamped version", out, err)
	}
}
