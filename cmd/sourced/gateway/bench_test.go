package gateway

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// BenchmarkGatewayRoundTrip measures a command's round trip through the
// gateway: POST /v1/profile/{id}/SetUsername until its result is answered,
// with the profile processor and the gateway in this process on the
// embedded broker (3 partitions). "sequential" sends one request at a time
// and reports the round trip's p50 and p99; "parallel" keeps one request
// in flight per GOMAXPROCS×4 goroutines and reports requests per second.
// Both report the whole process's CPU per request (broker included).
//
//	go test ./cmd/sourced/gateway -run '^$' -bench GatewayRoundTrip -benchtime 2000x
func BenchmarkGatewayRoundTrip(b *testing.B) {
	_, srv, _ := startGateway(b, 1024)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(b *testing.B, n int) {
		url := fmt.Sprintf("%s/v1/profile/bench-%d/SetUsername", srv.URL, n)
		resp, err := client.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"username":"user%d"}`, n)))
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("POST %s: %d", url, resp.StatusCode)
		}
	}
	// Warm up: connections, metadata, the processor's first fetches.
	for i := range 50 {
		post(b, -1-i)
	}
	b.Run("sequential", func(b *testing.B) {
		took := make([]time.Duration, b.N)
		cpu0 := processCPU(b)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			post(b, i)
			took[i] = time.Since(start)
		}
		b.StopTimer()
		b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
		slices.Sort(took)
		b.ReportMetric(float64(took[b.N/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[b.N*99/100].Microseconds())/1000, "p99-ms")
	})
	b.Run("parallel", func(b *testing.B) {
		cpu0 := processCPU(b)
		b.SetParallelism(4)
		var next atomicCounter
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, 1_000_000+next.add())
			}
		})
		b.StopTimer()
		b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// processCPU is the CPU time (user and system) this process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// atomicCounter hands out distinct numbers to parallel goroutines.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int { return int(c.n.Add(1)) }

// BenchmarkResultCacheChurn puts distinct results through a cache of the
// default capacity and reports the heap it holds (after a GC) once both
// generations are full and after twenty times its capacity: the bound
// must hold under constant churn, not only once full.
func BenchmarkResultCacheChurn(b *testing.B) {
	for range b.N {
		c := newResultCache(DefaultRecentResults)
		for i := range 10 * 2 * DefaultRecentResults {
			k := resultKey{"invoice", "inv-" + strconv.Itoa(i%5000), "cmd-" + strconv.Itoa(i)}
			c.put(k, codecs.Result{CommandID: k.commandID, AggregateID: k.aggregateID, Status: codecs.StatusAccepted})
			if i == 2*DefaultRecentResults-1 || i == 10*2*DefaultRecentResults-1 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if i == 2*DefaultRecentResults-1 {
					b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-full")
				} else {
					b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-after-20x-capacity")
				}
			}
		}
		runtime.KeepAlive(c)
	}
}
