package broker

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/processors/kafka"
)

// TestInProcessDial: a client whose connection dials through Broker.Dial
// (what every role of `sourced dev` uses) reaches the broker over in-process
// pipes, franz-go and sarama alike, while a client of another process
// still reaches it over TCP, and both see the same log. An address that is
// not the broker's is dialled through the network; after Close, an
// in-process dial fails instead of hanging.
func TestInProcessDial(t *testing.T) {
	b, err := Start(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			b.Close()
		}
	}()
	var mu sync.Mutex
	kinds := map[string]int{}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := b.Dial(ctx, network, address)
		if err == nil {
			mu.Lock()
			kinds[c.LocalAddr().Network()]++
			mu.Unlock()
		}
		return c, err
	}
	conn := kafka.Connection{Brokers: b.ListenAddrs(), Dial: dial}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	local, err := conn.NewClient(kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if _, err := kadm.NewClient(local).CreateTopic(ctx, 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	remote, err := kgo.NewClient(kgo.SeedBrokers(b.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if err := remote.ProduceSync(ctx, &kgo.Record{Value: []byte("over tcp")}).FirstErr(); err != nil {
		t.Fatalf("produce over TCP: %v", err)
	}
	if err := local.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("in process")}).FirstErr(); err != nil {
		t.Fatalf("produce in-process: %v", err)
	}
	var got []string
	for len(got) < 2 {
		fs := local.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume in-process after %q: %v", got, err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if got[0] != "over tcp" || got[1] != "in process" {
		t.Errorf("consumed %q, want [over tcp, in process]", got)
	}

	// sarama (goka's client) through the same Connection.
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	if err := conn.Apply(sc); err != nil {
		t.Fatal(err)
	}
	sclient, err := sarama.NewClient(conn.Brokers, sc)
	if err != nil {
		t.Fatalf("sarama client in-process: %v", err)
	}
	if hwm, err := sclient.GetOffset("t", 0, sarama.OffsetNewest); err != nil || hwm != 2 {
		t.Errorf("sarama in-process: high watermark %d, %v; want 2", hwm, err)
	}
	_ = sclient.Close()

	mu.Lock()
	if kinds["pipe"] == 0 || kinds["tcp"] != 0 {
		t.Errorf("connections dialled through Broker.Dial by network: %v, want only pipes", kinds)
	}
	mu.Unlock()

	// Another address goes through the network.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c, err := b.Dial(ctx, "tcp", other.Addr().String())
	if err != nil {
		t.Fatalf("dial another address: %v", err)
	}
	if c.LocalAddr().Network() != "tcp" {
		t.Errorf("dial of another address: a %s connection, want tcp", c.LocalAddr().Network())
	}
	_ = c.Close()

	b.Close()
	closed = true
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if c, err := b.Dial(dctx, "tcp", conn.Brokers[0]); err == nil {
		_ = c.Close()
		t.Error("in-process dial after Close succeeded")
	} else if dctx.Err() != nil {
		t.Errorf("in-process dial after Close waited for its deadline: %v", err)
	}
}
