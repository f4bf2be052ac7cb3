package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/third_party/kfake"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
)

// rawMember speaks the classic group protocol by hand, so a test decides
// exactly when each member joins, syncs and disappears.
type rawMember struct {
	cl         *kgo.Client
	group      string
	id         string
	generation int32
}

const (
	rawSession   = 2 * time.Second
	rawRebalance = 10 * time.Second
)

func newRawMember(t *testing.T, addr, group string) *rawMember {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &rawMember{cl: cl, group: group}
}

// createTopic creates topic with two partitions on the broker at addr.
func createTopic(t *testing.T, ctx context.Context, addr, topic string) {
	t.Helper()
	admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := kadm.NewClient(admin).CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

// join sends JoinGroup (twice when the broker hands out the member id)
// and returns the response.
func (m *rawMember) join(ctx context.Context, topic string) (*kmsg.JoinGroupResponse, error) {
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = m.group, m.id, "consumer"
		req.SessionTimeoutMillis = int32(rawSession / time.Millisecond)
		req.RebalanceTimeoutMillis = int32(rawRebalance / time.Millisecond)
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = []string{topic}
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta.AppendTo(nil)
		req.Protocols = append(req.Protocols, p)
		resp, err := req.RequestWith(ctx, m.cl)
		if err != nil {
			return nil, err
		}
		if errors.Is(kerr.ErrorForCode(resp.ErrorCode), kerr.MemberIDRequired) {
			m.id = resp.MemberID
			continue
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, err
		}
		m.id, m.generation = resp.MemberID, resp.Generation
		return resp, nil
	}
}

// sync sends SyncGroup; a leader assigns partitions by member id.
func (m *rawMember) sync(ctx context.Context, topic string, assign map[string][]int32) error {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.generation
	req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	for id, parts := range assign {
		a := kmsg.NewConsumerMemberAssignment()
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = topic, parts
		a.Topics = append(a.Topics, at)
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, a.AppendTo(nil)
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.ErrorCode)
}

// heartbeat sends one Heartbeat.
func (m *rawMember) heartbeat(ctx context.Context) error {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.generation
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.ErrorCode)
}

// strandMember leaves a member in a Stable group that is dead and has no
// session timer in kfake: member B is waiting in JoinGroup when its
// connection closes; member A then rejoins, which completes the rebalance
// with both; the broker fails to send B its join response, and A, the
// leader, assigns B partition 1. It returns A (which the caller must keep
// heartbeating) and B's member id.
func strandMember(t *testing.T, ctx context.Context, c *kfake.Cluster, w *readWatch, addr, group, topic string) (*rawMember, string) {
	t.Helper()
	a := newRawMember(t, addr, group)
	if _, err := a.join(ctx, topic); err != nil {
		t.Fatalf("A joins: %v", err)
	}
	if err := a.sync(ctx, topic, map[string][]int32{a.id: {0, 1}}); err != nil {
		t.Fatalf("A syncs: %v", err)
	}
	b := newRawMember(t, addr, group)
	// B's first JoinGroup only hands out its member id; its second one
	// waits for A to rejoin.
	first := kmsg.NewPtrJoinGroupRequest()
	first.Group, first.ProtocolType = group, "consumer"
	first.SessionTimeoutMillis, first.RebalanceTimeoutMillis = int32(rawSession/time.Millisecond), int32(rawRebalance/time.Millisecond)
	p := kmsg.NewJoinGroupRequestProtocol()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	p.Name, p.Metadata = "range", meta.AppendTo(nil)
	first.Protocols = append(first.Protocols, p)
	resp, err := first.RequestWith(ctx, b.cl)
	if err != nil || !errors.Is(kerr.ErrorForCode(resp.ErrorCode), kerr.MemberIDRequired) {
		t.Fatalf("B's first join: %v %v", resp, err)
	}
	b.id = resp.MemberID
	bctx, bcancel := context.WithCancel(ctx)
	go func() { _, _ = b.join(bctx, topic) }()
	if _, err := c.WaitGroupInfo(ctx, group, func(g *kfake.GroupInfo) bool {
		return g != nil && g.State == "PreparingRebalance" && len(g.Members) == 2
	}); err != nil {
		t.Fatalf("B never waited in JoinGroup: %v", err)
	}
	// B dies while it waits: its connections close, and the broker
	// reads their end before A rejoins.
	closed := w.ended.Load()
	bcancel()
	b.cl.Close()
	for last, stable := closed, 0; last == closed || stable < 5; time.Sleep(10 * time.Millisecond) {
		if n := w.ended.Load(); n != last {
			last, stable = n, 0
		} else {
			stable++
		}
	}
	if _, err := a.join(ctx, topic); err != nil {
		t.Fatalf("A rejoins: %v", err)
	}
	if err := a.sync(ctx, topic, map[string][]int32{a.id: {0}, b.id: {1}}); err != nil {
		t.Fatalf("A syncs: %v", err)
	}
	return a, b.id
}

// members returns the member ids of group.
func members(c *kfake.Cluster, group string) []string {
	var ids []string
	if g := c.GroupInfo(group); g != nil {
		for _, m := range g.Members {
			ids = append(ids, m.MemberID)
		}
	}
	return ids
}

// TestEmbeddedBrokerEvictsMemberKilledInJoin: a consumer-group member
// killed while it waits in JoinGroup is evicted from the Stable group
// after its session timeout, so its partitions go to the survivors. With
// kfake alone, such a member often stays in the group, owning its
// partitions, for ever: whether kfake arms its session timer depends on a
// select between the dead connection and a buffered channel, so each
// subtest strands a member in several groups.
func TestEmbeddedBrokerEvictsMemberKilledInJoin(t *testing.T) {
	t.Parallel()
	minSession := kfake.BrokerConfigs(map[string]string{"group.min.session.timeout.ms": "1000"})
	const topic, groups = "orders", 12

	type stranded struct{ group, live, dead string }
	// strandAll strands a dead member in each of groups groups and keeps
	// the live members heartbeating until stop is called.
	strandAll := func(t *testing.T, ctx context.Context, c *kfake.Cluster, w *readWatch) (all []stranded, stop func()) {
		addr := c.ListenAddrs()[0]
		createTopic(t, ctx, addr, topic)
		hctx, hcancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for i := 0; i < groups; i++ {
			group := fmt.Sprint("g", i)
			a, dead := strandMember(t, ctx, c, w, addr, group, topic)
			all = append(all, stranded{group: group, live: a.id, dead: dead})
			wg.Add(1)
			go func() { // the live member stays alive
				defer wg.Done()
				for hctx.Err() == nil {
					_ = a.heartbeat(hctx)
					select {
					case <-hctx.Done():
					case <-time.After(300 * time.Millisecond):
					}
				}
			}()
		}
		return all, func() { hcancel(); wg.Wait() }
	}

	t.Run("kfake alone keeps some", func(t *testing.T) {
		// If this fails, kfake expires such members by itself now and
		// the janitor of Broker can go.
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		w := &readWatch{}
		c, err := kfake.NewCluster(kfake.NumBrokers(1), minSession, w.listen())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		all, stop := strandAll(t, ctx, c, w)
		defer stop()
		time.Sleep(3 * rawSession)
		kept := 0
		for _, s := range all {
			if g := c.GroupInfo(s.group); g.State == "Stable" && slices.Contains(members(c, s.group), s.dead) {
				kept++
			}
		}
		if kept == 0 {
			t.Fatalf("kfake evicted every dead member of %d groups by itself", groups)
		}
		t.Logf("%d of %d dead members still in their Stable group after %v", kept, groups, 3*rawSession)
	})

	t.Run("embedded broker evicts all", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var logs lockedBuffer
		w := &readWatch{}
		c, err := Start(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			// A slow sweep: heartbeats for B while it waits in JoinGroup
			// would arm its session timer, and kfake would expire it itself.
			extra: []kfake.Opt{minSession, w.listen()}, sweep: time.Second, grace: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		all, stop := strandAll(t, ctx, c.Cluster, w)
		defer stop()
		for _, s := range all {
			if _, err := c.WaitGroupInfo(ctx, s.group, func(g *kfake.GroupInfo) bool {
				return g != nil && !slices.Contains(members(c.Cluster, s.group), s.dead)
			}); err != nil {
				t.Fatalf("%s: the dead member %s was never evicted: %v; logs:\n%s", s.group, s.dead, members(c.Cluster, s.group), logs.String())
			}
			if ids := members(c.Cluster, s.group); !slices.Equal(ids, []string{s.live}) {
				t.Errorf("%s: members after the eviction: %v, want only the live one %s", s.group, ids, s.live)
			}
		}
		if !strings.Contains(logs.String(), "evicting a group member") {
			t.Errorf("no eviction logged (kfake expired every dead member itself?):\n%s", logs.String())
		}
	})
}

// TestEmbeddedBrokerKeepsMembersWaitingInJoin: a member that rejoined and
// waits in JoinGroup, while the rebalance waits for a slower member for
// longer than its session timeout, stays in the group and gets its join
// response. kfake alone expires it and never answers its JoinGroup (the
// client waits for its read timeout).
func TestEmbeddedBrokerKeepsMembersWaitingInJoin(t *testing.T) {
	t.Parallel()
	minSession := kfake.BrokerConfigs(map[string]string{"group.min.session.timeout.ms": "1000"})
	const topic, group = "orders", "wait"

	// scenario: a and b are Stable; c joins; a rejoins at once and
	// waits; b keeps heartbeating and rejoins only after 2 sessions.
	// It reports a's join result (nil when it never came in time) and
	// the members after b's rejoin.
	scenario := func(t *testing.T, ctx context.Context, c *kfake.Cluster) (aJoined error, a *rawMember, after []string) {
		addr := c.ListenAddrs()[0]
		createTopic(t, ctx, addr, topic)
		a, b, cm := newRawMember(t, addr, group), newRawMember(t, addr, group), newRawMember(t, addr, group)
		if _, err := a.join(ctx, topic); err != nil {
			t.Fatal(err)
		}
		if err := a.sync(ctx, topic, map[string][]int32{a.id: {0, 1}}); err != nil {
			t.Fatal(err)
		}
		// b joins: a rejoins to let it in.
		bJoined := make(chan error, 1)
		go func() { _, err := b.join(ctx, topic); bJoined <- err }()
		if _, err := c.WaitGroupInfo(ctx, group, func(g *kfake.GroupInfo) bool { return g != nil && len(g.Members) == 2 }); err != nil {
			t.Fatal(err)
		}
		if _, err := a.join(ctx, topic); err != nil {
			t.Fatal(err)
		}
		if err := <-bJoined; err != nil {
			t.Fatal(err)
		}
		if err := a.sync(ctx, topic, map[string][]int32{a.id: {0}, b.id: {1}}); err != nil {
			t.Fatal(err)
		}
		if err := b.sync(ctx, topic, nil); err != nil {
			t.Fatal(err)
		}
		// c joins; a rejoins at once and waits; b is slow.
		go func() { _, _ = cm.join(ctx, topic) }()
		if _, err := c.WaitGroupInfo(ctx, group, func(g *kfake.GroupInfo) bool {
			return g != nil && g.State == "PreparingRebalance" && len(g.Members) == 3
		}); err != nil {
			t.Fatal(err)
		}
		aResult := make(chan error, 1)
		actx, acancel := context.WithCancel(ctx)
		defer acancel()
		go func() { _, err := a.join(actx, topic); aResult <- err }()
		for end := time.Now().Add(2 * rawSession); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			_ = b.heartbeat(ctx) // REBALANCE_IN_PROGRESS
		}
		if _, err := b.join(ctx, topic); err != nil {
			t.Fatalf("b rejoins: %v", err)
		}
		select {
		case aJoined = <-aResult:
		case <-time.After(2 * time.Second):
			aJoined = errors.New("no join response")
		}
		return aJoined, a, members(c, group)
	}

	t.Run("kfake alone expires it", func(t *testing.T) {
		// If this fails, kfake keeps members waiting in JoinGroup by
		// itself now and the janitor's heartbeats can go.
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := kfake.NewCluster(kfake.NumBrokers(1), minSession)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		joined, a, after := scenario(t, ctx, c)
		if joined == nil || slices.Contains(after, a.id) {
			t.Fatalf("kfake answered the member waiting in JoinGroup (%v) and kept it: %v", joined, after)
		}
	})

	t.Run("embedded broker keeps it", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := Start(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", extra: []kfake.Opt{minSession},
			sweep: 100 * time.Millisecond, grace: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		joined, a, after := scenario(t, ctx, c.Cluster)
		if joined != nil || !slices.Contains(after, a.id) || len(after) != 3 {
			t.Fatalf("the member waiting in JoinGroup: join %v; members after the rebalance %v, want 3 with %s", joined, after, a.id)
		}
	})
}

// TestEmbeddedBrokerKeepsLiveMembers: members that heartbeat, and a member
// that waited in JoinGroup through a slow rebalance and syncs late, are
// never evicted.
func TestEmbeddedBrokerKeepsLiveMembers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const grace = 500 * time.Millisecond // evicted when silent for rawSession+grace
	var logs lockedBuffer
	c, err := Start(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		extra: []kfake.Opt{kfake.BrokerConfigs(map[string]string{"group.min.session.timeout.ms": "1000"})},
		sweep: 100 * time.Millisecond, grace: grace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	const topic = "orders"
	createTopic(t, ctx, addr, topic)

	// Two franz-go consumers with a short session and the slowest
	// heartbeat it allows.
	for i := 0; i < 2; i++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("live"), kgo.ConsumeTopics(topic),
			kgo.SessionTimeout(rawSession), kgo.HeartbeatInterval(rawSession/2), kgo.RebalanceTimeout(rawRebalance),
			kgo.Balancers(kgo.RangeBalancer()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		go func() {
			for {
				if f := cl.PollFetches(ctx); f.IsClientClosed() || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	live, err := c.WaitGroupStable(ctx, "live", 2)
	if err != nil {
		t.Fatal(err)
	}
	liveMembers := fmt.Sprint(members(c.Cluster, "live"))

	// A slow rebalance: b waits in JoinGroup, silent, for longer than a
	// session while a takes its time to rejoin; then b syncs late.
	a := newRawMember(t, addr, "slow")
	if _, err := a.join(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := a.sync(ctx, topic, map[string][]int32{a.id: {0, 1}}); err != nil {
		t.Fatal(err)
	}
	b := newRawMember(t, addr, "slow")
	joined := make(chan error, 1)
	go func() { _, err := b.join(ctx, topic); joined <- err }()
	heartbeatFor := func(d time.Duration, ms ...*rawMember) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			for _, m := range ms {
				_ = m.heartbeat(ctx) // REBALANCE_IN_PROGRESS while rebalancing
			}
		}
	}
	heartbeatFor(rawSession+2*grace+time.Second, a)
	if _, err := a.join(ctx, topic); err != nil {
		t.Fatalf("a rejoins: %v", err)
	}
	if err := <-joined; err != nil {
		t.Fatalf("b's join: %v", err)
	}
	if err := a.sync(ctx, topic, map[string][]int32{a.id: {0}, b.id: {1}}); err != nil {
		t.Fatal(err)
	}
	heartbeatFor(grace+200*time.Millisecond, a) // the group is Stable; b has not synced yet
	if err := b.sync(ctx, topic, nil); err != nil {
		t.Fatalf("b syncs late: %v", err)
	}
	heartbeatFor(rawSession+2*grace, a, b)

	slow := c.GroupInfo("slow")
	if ids := members(c.Cluster, "slow"); slow.State != "Stable" || len(ids) != 2 || !slices.Contains(ids, a.id) || !slices.Contains(ids, b.id) {
		t.Errorf("slow group: %s with %v, want Stable with %s and %s", slow.State, ids, a.id, b.id)
	}
	after := c.GroupInfo("live")
	if after.State != "Stable" || after.Epoch != live.Epoch || fmt.Sprint(members(c.Cluster, "live")) != liveMembers {
		t.Errorf("live group changed: %s gen %d members %v, was gen %d members %s", after.State, after.Epoch, members(c.Cluster, "live"), live.Epoch, liveMembers)
	}
	if strings.Contains(logs.String(), "evicting") {
		t.Errorf("the janitor evicted a live member:\n%s", logs.String())
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// readWatch is a listener for kfake that counts the connections whose
// reads ended (the client closed them), so a test knows the broker has
// seen a client go.
type readWatch struct {
	net.Listener
	ended atomic.Int64
}

// listen is the kfake option that makes the broker listen through w on a
// free loopback port.
func (w *readWatch) listen() kfake.Opt {
	return kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		l, err := net.Listen(network, "127.0.0.1:0")
		w.Listener = l
		return w, err
	})
}

func (w *readWatch) Accept() (net.Conn, error) {
	c, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c, w: w}, nil
}

type watchedConn struct {
	net.Conn
	w    *readWatch
	once sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() { c.w.ended.Add(1) })
	}
	return n, err
}

// TestEmbeddedBrokerJanitorConnectsOverSASLAndTLS: the janitor's client
// reaches a broker that requires SCRAM and serves TLS, trusting exactly
// the broker's certificate.
func TestEmbeddedBrokerJanitorConnectsOverSASLAndTLS(t *testing.T) {
	t.Parallel()
	certs := stacktest.NewCertificates(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certs.CertFile, certs.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0",
		SASL: kafka.SASL{Mechanism: kafka.SASLScramSHA512, User: "admin", Password: "s3cret-Pa55"},
		TLS:  &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, c.janitor.cl); err != nil {
		t.Fatalf("the janitor cannot reach its broker: %v", err)
	}
	// The janitor's client trusts only its broker's certificate: it
	// refuses a broker serving another one.
	other := stacktest.NewCertificates(t, t.TempDir())
	otherCert, err := tls.LoadX509KeyPair(other.CertFile, other.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	impostor, err := Start(Config{Dir: t.TempDir(), Listen: "127.0.0.1:0",
		TLS: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{otherCert}}})
	if err != nil {
		t.Fatal(err)
	}
	defer impostor.Close()
	cl, err := janitorClient(impostor.ListenAddrs(), Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	defer scancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(sctx, cl); err == nil {
		t.Fatal("the janitor's client trusted another broker's certificate")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
