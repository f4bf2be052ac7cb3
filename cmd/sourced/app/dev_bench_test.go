package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/b2dc4357/sourced/cmd/sourced/load"
)

// BenchmarkDevCPUPerCommand runs `sourced dev` (the embedded broker, every
// role, the bleve views and the gateway in one process) and, beside it,
// `sourced load --via kafka --aggregate invoice --rate 1000` for 15 s per
// iteration, as a user runs them on one machine. It reports the dev
// process's CPU per command (cpu-µs/cmd, from /proc), the share of each
// role in it (from a CPU profile of dev by its pprof label role=..., so
// the roles are told apart inside one process; "other" is the runtime's
// own goroutines, mostly the garbage collector's background marking), the
// embedded view store's share on its own (bleve, in whichever role), and
// the load's command->result and result->view percentiles. Run it alone:
//
//	go test ./cmd/sourced/app -run '^$' -bench DevCPUPerCommand -benchtime 1x
//
// SOURCED_BENCH_RATE and SOURCED_BENCH_SECONDS change the rate and length,
// SOURCED_BENCH_VIA=gateway sends the commands through the gateway;
// SOURCED_BENCH_DEV_BINARY runs another build of sourced as dev (an older
// commit's, to compare in one sitting; it may lack the role labels);
// SOURCED_BENCH_PROFILE=PATH keeps the CPU profile of dev.
func BenchmarkDevCPUPerCommand(b *testing.B) {
	rate, seconds := benchEnv(b, "SOURCED_BENCH_RATE", 1000), benchEnv(b, "SOURCED_BENCH_SECONDS", 15)
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		broker, httpAddr := freeAddr(b), freeAddr(b)
		devBinary := binary
		if other := os.Getenv("SOURCED_BENCH_DEV_BINARY"); other != "" {
			devBinary = other
		}
		dev, out := startBinary(b, devBinary, []string{"SOURCED_DATA_DIR=" + dir, "SOURCED_BROKERS="},
			"dev", "--listen", broker, "--http", httpAddr, "--pprof")
		waitURL(b, "http://"+httpAddr+"/readyz", 60*time.Second, out)
		b.StartTimer()

		via := "kafka"
		if os.Getenv("SOURCED_BENCH_VIA") == "gateway" {
			via = "gateway"
		}
		loadCmd := exec.Command(binary, "load", "--via", via, "--brokers", broker, "--gateway", "http://"+httpAddr,
			"--aggregate", "invoice", "--rate", strconv.Itoa(rate), "--duration", strconv.Itoa(seconds)+"s",
			"--aggregates", "2000", "--json")
		var loadOut, loadErr bytes.Buffer
		loadCmd.Stdout, loadCmd.Stderr = &loadOut, &loadErr
		cpu0 := procCPU(b, dev.Process.Pid)
		if err := loadCmd.Start(); err != nil {
			b.Fatal(err)
		}
		// Profile the middle of the run: from 2 s in until 2 s before
		// sending stops.
		time.Sleep(2 * time.Second)
		prof := cpuProfile(b, "http://"+httpAddr, seconds-4)
		if path := os.Getenv("SOURCED_BENCH_PROFILE"); path != "" {
			writeProfile(b, prof, path)
		}
		if err := loadCmd.Wait(); err != nil {
			b.Fatalf("load: %v\n%s\n%s", err, loadErr.String(), out.String())
		}
		cpu := procCPU(b, dev.Process.Pid) - cpu0
		b.StopTimer()

		var sum load.Summary
		if err := json.Unmarshal(loadOut.Bytes(), &sum); err != nil {
			b.Fatalf("load summary: %v\n%s", err, loadOut.String())
		}
		if sum.NoResult != 0 || sum.Sent == 0 {
			b.Fatalf("load: %d of %d commands without a result", sum.NoResult, sum.Sent)
		}
		perCmd := float64(cpu.Microseconds()) / float64(sum.Sent)
		b.ReportMetric(perCmd, "cpu-µs/cmd")
		b.ReportMetric(perCmd*float64(rate)/1e6, "cores")
		b.ReportMetric(sum.Latency.P50, "result-p50-ms")
		b.ReportMetric(sum.Latency.P99, "result-p99-ms")
		b.ReportMetric(sum.View.Latency.P99, "view-p99-ms")
		shares := roleShares(b, prof)
		names := make([]string, 0, len(shares))
		for name := range shares {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool { return shares[names[i]] > shares[names[j]] })
		for _, name := range names {
			b.ReportMetric(perCmd*shares[name], strings.ReplaceAll(name, " ", ":")+"-µs/cmd")
		}
		// The embedded view store on its own (indexing, persisting and
		// merging segments), whichever view's goroutine ran it.
		b.ReportMetric(perCmd*stackShare(b, prof, "github.com/blevesearch/"), "bleve-µs/cmd")
		if err := dev.Process.Signal(os.Interrupt); err == nil {
			_ = dev.Wait()
		}
	}
}

// benchEnv is the integer in the environment variable name, or def.
func benchEnv(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive integer", name, v)
		}
		return n
	}
	return def
}

// waitURL polls url until it answers 200.
func waitURL(b *testing.B, url string, timeout time.Duration, out *safeBuffer) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("%s not ready after %s\n%s", url, timeout, out.String())
}

// procCPU is the CPU time (user and system) process pid used so far.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name in parentheses: utime and stime are
	// the 14th and 15th of the line, in clock ticks (100 per second).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// cpuProfile takes a CPU profile of seconds from the process serving
// /debug/pprof/ at base.
func cpuProfile(b *testing.B, base string, seconds int) *profile.Profile {
	b.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	p, err := profile.Parse(resp.Body)
	if err != nil {
		b.Fatalf("parse CPU profile: %v", err)
	}
	return p
}

// writeProfile writes p to path (SOURCED_BENCH_PROFILE), for
// `go tool pprof -tags` or `-top`.
func writeProfile(b *testing.B, p *profile.Profile, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := p.Write(f); err != nil {
		b.Fatalf("write CPU profile: %v", err)
	}
}

// roleShares is the share of the profile's CPU time per pprof label role,
// "other" for samples without one.
func roleShares(b *testing.B, p *profile.Profile) map[string]float64 {
	b.Helper()
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			idx = i
		}
	}
	if idx < 0 {
		b.Fatal("CPU profile without a cpu sample type")
	}
	byRole := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		role := "other"
		if r := s.Label["role"]; len(r) > 0 {
			role = r[0]
		}
		byRole[role] += s.Value[idx]
		total += s.Value[idx]
	}
	shares := make(map[string]float64, len(byRole))
	for role, v := range byRole {
		shares[role] = float64(v) / float64(max(total, 1))
	}
	return shares
}

// stackShare is the share of the profile's CPU time in samples whose stack
// has a function whose name starts with prefix.
func stackShare(b *testing.B, p *profile.Profile, prefix string) float64 {
	b.Helper()
	idx := len(p.SampleType) - 1 // cpu/nanoseconds comes last in Go's CPU profiles
	var in, total int64
	for _, s := range p.Sample {
		total += s.Value[idx]
	stack:
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil && strings.HasPrefix(line.Function.Name, prefix) {
					in += s.Value[idx]
					break stack
				}
			}
		}
	}
	return float64(in) / float64(max(total, 1))
}
