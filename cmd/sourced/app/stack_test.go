package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views/reference"
)

// testKafka is the Kafka a test's sourced children talk to: a `sourced
// broker` child (the embedded broker) by default, the shared Apache Kafka
// with names of the test's own under SOURCED_TEST_KAFKA, or a dedicated
// Apache Kafka the test may SIGKILL and restart (ownTestKafka).
type testKafka struct {
	// brokers is SOURCED_BROKERS of the children.
	brokers string
	// prefix is SOURCED_PREFIX of the children: "" on the embedded broker.
	prefix string
	// real is true on Apache Kafka.
	real bool
	// broker is the `sourced broker` child; nil on Apache Kafka.
	broker *child
	// own is the dedicated Apache Kafka of ownTestKafka.
	own *stack.Kafka
}

// newTestKafka starts the test's Kafka: the shared real broker when
// SOURCED_TEST_KAFKA is set, else `sourced broker` on dataDir, with extra
// broker arguments.
func newTestKafka(t *testing.T, dataDir string, brokerArgs ...string) testKafka {
	t.Helper()
	if addr := stacktest.RealKafka(); addr != "" {
		k := testKafka{brokers: addr, prefix: strings.TrimSuffix(stacktest.Prefix(t), "-"), real: true}
		t.Cleanup(func() { k.deleteTopics(t) })
		return k
	}
	// The free port can be taken by another process before the broker
	// binds it (tests of other packages run beside this one): then the
	// broker exits at once, and the test must not go on with the other
	// process's port.
	for attempt := 1; ; attempt++ {
		listen := freeAddr(t)
		b := newChild(t, []string{"SOURCED_BROKERS=" + listen},
			append([]string{"broker", "--data-dir", dataDir, "--listen", listen}, brokerArgs...)...)
		waitListening(t, listen)
		time.Sleep(200 * time.Millisecond)
		if out, _ := os.ReadFile(b.log); attempt < 5 && bytes.Contains(out, []byte("address already in use")) {
			t.Logf("port %s was taken before the broker bound it; trying another", listen)
			b.kill()
			continue
		}
		return testKafka{brokers: listen, broker: b}
	}
}

// ownTestKafka is a dedicated Apache Kafka (stacktest.OwnKafka) on the
// real stack, or `sourced broker` otherwise: for tests that SIGKILL and
// restart the broker process.
func ownTestKafka(t *testing.T, dataDir string) testKafka {
	t.Helper()
	if stacktest.RealKafka() == "" {
		return newTestKafka(t, dataDir)
	}
	k := stacktest.OwnKafka(t, stack.KafkaOptions{})
	return testKafka{brokers: k.Addr(), real: true, own: k}
}

// env is the environment of a child using this Kafka.
func (k testKafka) env() []string {
	return []string{"SOURCED_BROKERS=" + k.brokers, "SOURCED_PREFIX=" + k.prefix}
}

// topics are the topic and group names of an aggregate.
func (k testKafka) topics(aggregate string) codecs.Topics {
	return codecs.NewTopics(k.prefix, aggregate)
}

// viewGroup is the consumer group of a view.
func (k testKafka) viewGroup(view string) string { return codecs.ViewGroup(k.prefix, view) }

// ensureArgs are the arguments of `topics ensure` with partitions: table
// topics compacted on Apache Kafka as in production, not compacted on the
// embedded broker (DESIGN.md).
func (k testKafka) ensureArgs(partitions int) []string {
	args := []string{"topics", "ensure", "--partitions", fmt.Sprint(partitions), "--prefix", k.prefix}
	if !k.real {
		args = append(args, "--no-compaction")
	}
	return args
}

// restart stops the broker (SIGKILL when crash, else a clean stop) and
// starts it again on the same data and address.
func (k testKafka) restart(t *testing.T, crash bool) {
	t.Helper()
	switch {
	case k.own != nil:
		if crash {
			k.own.Kill()
		} else {
			k.own.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), stack.StartTimeout)
		defer cancel()
		began := time.Now()
		if err := k.own.Start(ctx); err != nil {
			t.Fatalf("restart kafka: %v", err)
		}
		t.Logf("kafka restarted in %s (crash %v)", time.Since(began).Round(time.Millisecond), crash)
	case k.broker != nil:
		if crash {
			k.broker.kill()
		} else if err := k.broker.stop(); err != nil {
			t.Errorf("broker did not stop cleanly: %v", err)
		}
		k.broker.start()
		waitListening(t, k.brokers)
	default:
		t.Fatal("the shared real broker is not restarted: use ownTestKafka")
	}
}

// deleteTopics deletes the test's topics from the shared broker.
func (k testKafka) deleteTopics(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers))
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		t.Logf("list topics to delete: %v", err)
		return
	}
	var names []string
	for _, name := range listed.Names() {
		if strings.HasPrefix(name, k.prefix+"-") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return
	}
	if _, err := adm.DeleteTopics(ctx, names...); err != nil {
		t.Logf("delete topics %v: %v", names, err)
	}
}

// testES returns the Elasticsearch URL for children: the shared real
// node under SOURCED_TEST_ES, "" otherwise (then dev and the views use
// the embedded bleve store, as before). Children started with --prefix
// (SOURCED_PREFIX, which devKafka sets on real Kafka) name their indices
// "<prefix>-<view>...", and those are deleted when the test ends; without
// a prefix the reference views' fixed names are deleted before and after
// the test instead.
func testES(t *testing.T) string {
	t.Helper()
	u := stacktest.RealES()
	if u == "" {
		return ""
	}
	u = strings.TrimRight(u, "/")
	if os.Getenv("SOURCED_PREFIX") == "" {
		deleteIndices(t, u, referenceIndexPrefixes()...)
	}
	t.Cleanup(func() {
		if p := os.Getenv("SOURCED_PREFIX"); p != "" {
			deleteIndices(t, u, p+"-")
		} else {
			deleteIndices(t, u, referenceIndexPrefixes()...)
		}
	})
	return stacktest.ESWithRoot(t, u)
}

// referenceIndexPrefixes are the unprefixed index names of the reference
// views: "<view>" and "<view>-...".
func referenceIndexPrefixes() []string {
	var names []string
	for _, v := range reference.All() {
		names = append(names, v.Name)
	}
	return names
}

// deleteIndices deletes every index whose name is one of names or starts
// with it followed by "-" (by name, not wildcard: Elasticsearch refuses
// wildcard deletes by default).
func deleteIndices(t *testing.T, base string, names ...string) {
	t.Helper()
	for _, name := range names {
		resp, err := http.Get(base + "/_cat/indices/" + url.PathEscape(strings.TrimSuffix(name, "-")) + "*?format=json&h=index&expand_wildcards=all")
		if err != nil {
			t.Fatalf("list indices %s*: %v", name, err)
		}
		var rows []struct{ Index string }
		err = json.NewDecoder(resp.Body).Decode(&rows)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("list indices %s*: %v", name, err)
		}
		stem := strings.TrimSuffix(name, "-")
		for _, r := range rows {
			if r.Index != stem && !strings.HasPrefix(r.Index, stem+"-") {
				continue
			}
			req, _ := http.NewRequest(http.MethodDelete, base+"/"+url.PathEscape(r.Index), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("delete index %s: %v", r.Index, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
				t.Fatalf("delete index %s: %s", r.Index, resp.Status)
			}
		}
	}
}

// devKafka returns the arguments that point `sourced dev` at the test's
// Kafka, and that Kafka for the other children: the embedded broker dev
// runs on a free --listen, or the shared Apache Kafka (--brokers) with
// names of the test's own (--prefix, and SOURCED_PREFIX for every child
// the test starts: tests using it do not run in parallel). Start dev with
// SOURCED_BROKERS empty (startProcess(t, "", ...)), since dev with brokers
// runs no broker of its own.
func devKafka(t *testing.T) ([]string, testKafka) {
	t.Helper()
	if addr := stacktest.RealKafka(); addr != "" {
		k := testKafka{brokers: addr, prefix: strings.TrimSuffix(stacktest.Prefix(t), "-"), real: true}
		t.Setenv("SOURCED_PREFIX", k.prefix)
		t.Cleanup(func() { k.deleteTopics(t) })
		t.Logf("dev on Apache Kafka %s, names prefixed %s-", addr, k.prefix)
		return []string{"--brokers", k.brokers, "--prefix", k.prefix}, k
	}
	listen := freeAddr(t)
	return []string{"--listen", listen}, testKafka{brokers: listen}
}

// devESArgs are the arguments that point dev at the test's Elasticsearch:
// none (the embedded bleve store) unless SOURCED_TEST_ES is set.
func devESArgs(t *testing.T) []string {
	t.Helper()
	if u := testES(t); u != "" {
		return []string{"--es-url", u}
	}
	return nil
}
