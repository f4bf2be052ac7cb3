// Package brokertest starts the embedded broker (package broker, the one
// `sourced dev` runs) for tests, instead of bare kfake.
package brokertest

import (
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/processors/kafka/broker"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
)

// Start starts an embedded broker on a free loopback port with its data in
// a temporary directory, closed at cleanup.
func Start(t testing.TB) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Kafka is the test's broker: the shared Apache Kafka when
// SOURCED_TEST_KAFKA is set (topics and groups then go under Prefix),
// else a new embedded broker (Start).
func Kafka(t testing.TB) stacktest.Kafka {
	t.Helper()
	if addr := stacktest.RealKafka(); addr != "" {
		return stacktest.Kafka{Brokers: strings.Split(addr, ","), Prefix: stacktest.Prefix(t), Real: true}
	}
	b := Start(t)
	return stacktest.Kafka{Brokers: b.ListenAddrs(), Cluster: b.Cluster}
}
