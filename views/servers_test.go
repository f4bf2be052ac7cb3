package views_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka/broker/brokertest"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
	"github.com/b2dc4357/sourced/views/elastic"
	"github.com/b2dc4357/sourced/views/elastic/estest"
	"github.com/b2dc4357/sourced/views/reference"
)

// The tests of this package run on the servers stacktest chooses: the
// embedded broker and estest by default, the shared Apache Kafka and
// Elasticsearch under SOURCED_TEST_KAFKA and SOURCED_TEST_ES. On the
// shared servers every topic, group and index name starts with a prefix of
// the test's own, and the test deletes its topics and indices at the end.

// cluster is the test's broker with the topics of one aggregate.
type cluster struct {
	brokers []string
	client  *kgo.Client
	// prefix goes before topic and group names (ProjectorConfig.Prefix,
	// RebuildConfig.Prefix): "" on the embedded broker.
	prefix string
	topics codecs.Topics
}

func newCluster(t *testing.T, aggregate string, partitions int32) *cluster {
	t.Helper()
	k := brokertest.Kafka(t)
	prefix := strings.TrimSuffix(k.Prefix, "-")
	topics := codecs.NewTopics(prefix, aggregate)
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	created, err := adm.CreateTopics(ctx, partitions, 1, nil, topics.All()...)
	if err == nil {
		err = created.Error()
	}
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	if k.Real {
		// Runs before the client closes (cleanups run last first).
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := adm.DeleteTopics(ctx, topics.All()...); err != nil {
				t.Logf("delete topics: %v", err)
			}
		})
	}
	return &cluster{brokers: k.Brokers, client: cl, prefix: prefix, topics: topics}
}

// testStore is one store the projector tests run against.
type testStore struct {
	name string
	open func(t *testing.T) (s views.Store, names string)
}

// testStores are bleve and Elasticsearch (estest, or the shared real node
// under SOURCED_TEST_ES).
var testStores = []testStore{
	{"bleve", func(t *testing.T) (views.Store, string) { return openBleve(t), "" }},
	{"elastic", func(t *testing.T) (views.Store, string) {
		url, _ := stacktest.ES(t, estest.Options{})
		return openElastic(t, elastic.Config{URLs: []string{url}})
	}},
}

// eachStore runs f as one subtest per store.
func eachStore(t *testing.T, f func(t *testing.T, s views.Store, names string)) {
	for _, ts := range testStores {
		t.Run(ts.name, func(t *testing.T) {
			s, names := ts.open(t)
			f(t, s, names)
		})
	}
}

func openBleve(t *testing.T) views.Store {
	t.Helper()
	s, err := bleve.Open(bleve.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openElastic opens a store with cfg. On the shared real node it returns
// the prefix the test's index names must start with (name the view with
// it: see profileView) and deletes those indices when the test ends; on
// estest the prefix is "".
func openElastic(t *testing.T, cfg elastic.Config) (views.Store, string) {
	t.Helper()
	s, err := elastic.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if stacktest.RealES() == "" {
		return s, ""
	}
	names := stacktest.Prefix(t)
	t.Cleanup(func() { deleteIndices(t, s, names) })
	return s, names
}

// deleteIndices deletes the indices whose names start with prefix.
func deleteIndices(t *testing.T, s views.Store, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names, err := s.Indices(ctx, prefix)
	if err != nil {
		t.Logf("clean up indices %s*: %v", prefix, err)
		return
	}
	for _, n := range names {
		if err := s.DeleteIndex(ctx, n); err != nil {
			t.Logf("clean up index %s: %v", n, err)
		}
	}
}

// profileView is the reference profile view, named with the test's index
// prefix (a view's indices and alias are named after it).
func profileView(names string) *views.View {
	v := reference.Profile()
	v.Name = names + v.Name
	return v
}
