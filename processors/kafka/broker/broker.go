package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/b2dc4357/sourced/third_party/kfake"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/b2dc4357/sourced/processors/kafka"
)

// Config configures the embedded broker.
type Config struct {
	// Dir is the broker's data directory.
	Dir string
	// Listen is the address to listen on.
	Listen string
	// SASL, when its mechanism is set, makes the broker require SASL
	// with this one superuser.
	SASL kafka.SASL
	// TLS, when set, makes the broker serve TLS with this configuration
	// (its first certificate is the broker's).
	TLS *tls.Config
	// Logger receives what the broker's janitor does. Default: discard.
	Logger *slog.Logger
	// RetentionCheck is how often records past their topic's retention.ms
	// are deleted, freeing their disk and index memory. Default:
	// DefaultRetentionCheck (1 minute).
	RetentionCheck time.Duration

	// extra are further kfake options (tests).
	extra []kfake.Opt
	// sweep and grace tune the janitor (tests); see groupJanitor.
	sweep, grace time.Duration
}

// SegmentBytes is the embedded broker's log.segment.bytes: the size at
// which a partition's active segment is sealed and a new one started,
// for every topic that does not set segment.bytes itself. Only the
// active segment's batch index and ResidentSealedIndexes others stay in
// memory, at 72 bytes per batch, so it bounds the broker's memory per
// partition: a 2 MiB segment indexes about 3,500 of the table's batches
// (250 KiB), or up to 20,000 small ones (1.4 MiB). (With 8 MiB segments
// and two resident sealed indexes, dev's index took 131 MB at 1,000
// commands/s.) Kafka's default is 1 GiB; kfake's, 100 MiB.
const SegmentBytes = 2 << 20

// ResidentSealedIndexes is how many sealed segments per partition keep
// their batch index in memory on the embedded broker: the most recently
// read one, for a consumer just behind the active segment. The others
// are read back from disk (one 2 MiB file) when a consumer reads them.
// See third_party/kfake/index_cache.go.
const ResidentSealedIndexes = 1

// cleanShutdownMarker is the file, in the broker's data directory, that
// says the broker last stopped cleanly. It is removed when the broker
// starts and written after a clean Close.
const cleanShutdownMarker = "sourced-clean-shutdown"

// Broker is the embedded Kafka-protocol broker (franz-go's kfake)
// with two things sourced adds around it, for behaviour of kfake that a
// real Kafka broker does not have:
//
//   - kfake saves the idempotent producers' sequence windows
//     (seq_windows.json) only on a clean shutdown and loads that file on
//     every start without removing it. After a clean stop, a restart and
//     then a crash, it would load the windows of the clean stop, older than
//     the log, and answer every surviving producer with
//     OUT_OF_ORDER_SEQUENCE_NUMBER. So the file is deleted on a start that
//     does not follow a clean shutdown (our own marker tells), and kfake
//     then accepts the producers' next sequence, as after any crash.
//   - a member of a classic consumer group that is killed while it waits
//     in JoinGroup stays in the group for ever: kfake completes the
//     rebalance with it, fails to send it the join response, and arms its
//     session timer only after a successful send. The group is Stable, the
//     partitions assigned to the dead member are consumed by nobody, and
//     nothing rebalances it. The janitor (groupJanitor) evicts such members
//     as Kafka would: by the session timeout.
//   - kfake keeps running a member's session timer while the member waits
//     in JoinGroup. When a rebalance waits for a slow or dead member for
//     longer than the session timeout of those already rejoined (goka
//     rejoins 5 s after its session ends), kfake removes them without
//     answering their JoinGroup; each waits for its read timeout (40 s)
//     before its processor fails and restarts. Kafka keeps a member
//     awaiting a join alive until the rebalance completes; the janitor
//     does the same by heartbeating for such members.
//
// And one thing sourced changes in kfake itself (third_party/kfake, a
// patched copy): kfake kept the index of every batch in memory for as
// long as the batch exists, so the logs kept for ever (the table and
// events topics) grew the broker's heap with their history, about 250
// bytes per command. The patched broker keeps the index of the active
// segment and of the last sealed one read (ResidentSealedIndexes) per
// partition, and reads any other back from its files when a consumer
// needs it.
type Broker struct {
	*kfake.Cluster
	dir     string
	logger  *slog.Logger
	janitor *groupJanitor
	// inProcess holds the listeners Dial connects to in-process.
	inProcess *inProcess
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once
}

// Start starts the embedded broker persisting to cfg.Dir.
func Start(cfg Config) (*Broker, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := forgetSeqWindowsAfterCrash(cfg.Dir, logger); err != nil {
		return nil, err
	}
	listen := cfg.Listen
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(cfg.Dir),
		kfake.ResidentSealedIndexes(ResidentSealedIndexes),
		kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(SegmentBytes)}),
	}
	// A broker with TLS has no in-process connections: clients encrypt
	// only what they dial themselves.
	ip := &inProcess{off: cfg.TLS != nil}
	opts = append(opts, kfake.ListenFn(func(network, _ string) (net.Listener, error) { return ip.listen(network, listen) }))
	if cfg.SASL.Mechanism != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(cfg.SASL.Mechanism, cfg.SASL.User, cfg.SASL.Password))
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}
	c, err := kfake.NewCluster(append(opts, cfg.extra...)...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", listen, err)
	}
	b := &Broker{Cluster: c, dir: cfg.Dir, logger: logger, done: make(chan struct{}), inProcess: ip}
	cl, err := janitorClient(c.ListenAddrs(), cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	b.janitor = newGroupJanitor(c, cl, logger)
	if cfg.sweep > 0 {
		b.janitor.sweepEvery = cfg.sweep
	}
	if cfg.grace > 0 {
		b.janitor.margin = cfg.grace
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	check := cfg.RetentionCheck
	if check <= 0 {
		check = DefaultRetentionCheck
	}
	var wg sync.WaitGroup
	wg.Go(func() { b.janitor.run(ctx) })
	wg.Go(func() { b.expire(ctx, check) })
	go func() {
		defer close(b.done)
		wg.Wait()
	}()
	return b, nil
}

// Close stops the broker, which saves its state, and then marks the data
// directory as cleanly shut down.
func (b *Broker) Close() {
	b.once.Do(func() {
		b.cancel()
		<-b.done
		b.janitor.cl.Close()
		b.Cluster.Close()
		if err := writeMarker(filepath.Join(b.dir, cleanShutdownMarker)); err != nil {
			b.logger.Error("embedded broker: cannot mark the clean shutdown; the next start treats it as a crash", "error", err)
		}
	})
}

// forgetSeqWindowsAfterCrash removes kfake's saved producer sequence
// windows unless the broker last stopped cleanly, and removes the clean
// shutdown marker for the run that starts.
func forgetSeqWindowsAfterCrash(dir string, logger *slog.Logger) error {
	marker := filepath.Join(dir, cleanShutdownMarker)
	_, err := os.Stat(marker)
	clean := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("embedded broker: %w", err)
	}
	if !clean {
		switch err := os.Remove(filepath.Join(dir, "seq_windows.json")); {
		case err == nil:
			logger.Warn("embedded broker did not stop cleanly: dropped its saved idempotent-producer sequence windows, which are older than its log", "dir", dir)
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("embedded broker: remove stale producer state: %w", err)
		}
		return nil
	}
	if err := os.Remove(marker); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	return syncDir(dir)
}

// writeMarker creates path durably.
func writeMarker(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// janitorClient is a client of the broker itself, authenticated as its
// superuser, that trusts exactly the broker's own certificate.
func janitorClient(addrs []string, cfg Config) (*kgo.Client, error) {
	conn := kafka.Connection{Brokers: addrs, ClientID: "sourced-broker-janitor", SASL: cfg.SASL}
	opts, err := conn.KgoOpts()
	if err != nil {
		return nil, fmt.Errorf("embedded broker: janitor client: %w", err)
	}
	if cfg.TLS != nil && len(cfg.TLS.Certificates) > 0 && len(cfg.TLS.Certificates[0].Certificate) > 0 {
		own := cfg.TLS.Certificates[0].Certificate[0]
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{
			MinVersion: tls.VersionTLS12,
			// The address dialed is the broker's own listener, which may
			// not be a name in its certificate: verify by identity.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) > 0 && bytes.Equal(raw[0], own) {
					return nil
				}
				return errors.New("not the embedded broker's certificate")
			},
		}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: janitor client: %w", err)
	}
	return cl, nil
}

// groupJanitor makes kfake's classic consumer groups time members out as
// Kafka does (see Broker). It observes JoinGroup, SyncGroup,
// Heartbeat and OffsetCommit requests through kfake's control hooks
// (without handling them), and every sweep:
//
//   - in a Stable group, evicts the members that sent no request for
//     longer than their session timeout (with a LeaveGroup naming them,
//     which makes the group rebalance without them);
//   - in a group preparing a rebalance, heartbeats for the members that
//     rejoined and wait for their JoinGroup response, so that kfake does
//     not expire them while they wait. This also arms the session timer
//     of a member that dies while it waits, so kfake expires it itself;
//     eviction is for those that waited less than a sweep.
type groupJanitor struct {
	c      *kfake.Cluster
	cl     *kgo.Client
	logger *slog.Logger
	// sweepEvery is how often groups are checked; margin is added to the
	// session timeout before a silent member is evicted.
	sweepEvery, margin time.Duration

	mu     sync.Mutex
	groups map[string]*watchedGroup
}

type watchedGroup struct {
	session time.Duration        // the longest session timeout joined with
	seen    map[string]time.Time // member id → last request
	joining map[string]bool      // member id → rejoined, awaiting its join response
	gen     int32                // the Stable generation being timed
	since   time.Time            // when the janitor first saw it Stable
}

// defaultSession is assumed for groups restored from disk whose members
// have not joined since the broker started.
const defaultSession = 45 * time.Second

func newGroupJanitor(c *kfake.Cluster, cl *kgo.Client, logger *slog.Logger) *groupJanitor {
	j := &groupJanitor{c: c, cl: cl, logger: logger, sweepEvery: time.Second, margin: 5 * time.Second, groups: map[string]*watchedGroup{}}
	for _, key := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit} {
		c.ControlKey(int16(key), j.observe)
	}
	return j
}

// observe records a request of a group member; it never handles it.
func (j *groupJanitor) observe(req kmsg.Request) (kmsg.Response, error, bool) {
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		j.saw(r.Group, r.MemberID, time.Duration(r.SessionTimeoutMillis)*time.Millisecond)
		j.setJoining(r.Group, r.MemberID, true)
	case *kmsg.SyncGroupRequest:
		j.saw(r.Group, r.MemberID, 0)
		j.setJoining(r.Group, r.MemberID, false)
	case *kmsg.HeartbeatRequest:
		j.saw(r.Group, r.MemberID, 0)
	case *kmsg.OffsetCommitRequest:
		j.saw(r.Group, r.MemberID, 0)
	}
	return nil, nil, false
}

func (j *groupJanitor) saw(group, member string, session time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	g := j.groups[group]
	if g == nil {
		if session == 0 {
			// Only groups that joined through the classic protocol since
			// the broker started are watched.
			return
		}
		g = &watchedGroup{seen: map[string]time.Time{}, joining: map[string]bool{}}
		j.groups[group] = g
	}
	g.session = max(g.session, session)
	if member != "" {
		g.seen[member] = time.Now()
	}
}

// setJoining records that member sent JoinGroup (it waits for the
// response until the rebalance completes) or SyncGroup (it got it). A
// member's first JoinGroup carries no member id: kfake arms no session
// timer for a new member until it answers its join.
func (j *groupJanitor) setJoining(group, member string, joining bool) {
	if member == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if g := j.groups[group]; g != nil {
		if joining {
			g.joining[member] = true
		} else {
			delete(g.joining, member)
		}
	}
}

func (j *groupJanitor) run(ctx context.Context) {
	t := time.NewTicker(j.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.sweep(ctx)
		}
	}
}

// sweep evicts, in every Stable group, the members silent for longer than
// the session timeout plus the margin, counting from the later of their
// last request and the moment the group was seen Stable at this
// generation (a member waits silently in JoinGroup during a rebalance).
func (j *groupJanitor) sweep(ctx context.Context) {
	j.mu.Lock()
	names := make([]string, 0, len(j.groups))
	for name := range j.groups {
		names = append(names, name)
	}
	j.mu.Unlock()
	for _, name := range names {
		info := j.c.GroupInfo(name) // outside j.mu: observe runs inside the cluster loop
		now := time.Now()
		var evict []kfake.GroupMember
		var silent []time.Duration
		var keepAlive []string
		j.mu.Lock()
		g := j.groups[name]
		switch {
		case info == nil:
			delete(j.groups, name)
		case info.State == "PreparingRebalance":
			g.gen, g.since = 0, time.Time{}
			for _, m := range info.Members {
				if g.joining[m.MemberID] {
					keepAlive = append(keepAlive, m.MemberID)
				}
			}
		case info.State != "Stable":
			g.gen, g.since = 0, time.Time{}
		default:
			if g.since.IsZero() || g.gen != info.Epoch {
				g.gen, g.since = info.Epoch, now
			}
			session := g.session
			if session == 0 {
				session = defaultSession
			}
			present := map[string]bool{}
			for _, m := range info.Members {
				present[m.MemberID] = true
				last := g.seen[m.MemberID]
				if last.Before(g.since) {
					last = g.since
				}
				if d := now.Sub(last); d > session+j.margin {
					evict = append(evict, m)
					silent = append(silent, d)
				}
			}
			for id, at := range g.seen {
				if !present[id] && now.Sub(at) > 2*(session+j.margin) {
					delete(g.seen, id)
					delete(g.joining, id)
				}
			}
		}
		j.mu.Unlock()
		if len(evict) > 0 {
			j.evict(ctx, name, evict, silent)
		}
		for _, id := range keepAlive {
			j.heartbeat(ctx, name, id, info.Epoch)
		}
	}
}

// heartbeat heartbeats for member, which waits in JoinGroup: kfake then
// restarts its session timer (and answers REBALANCE_IN_PROGRESS).
func (j *groupJanitor) heartbeat(ctx context.Context, group, member string, generation int32) {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = group, member, generation
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := req.RequestWith(rctx, j.cl); err != nil && ctx.Err() == nil {
		j.logger.Debug("embedded broker: heartbeat for a member waiting in JoinGroup failed", "group", group, "member", member, "error", err)
	}
}

func (j *groupJanitor) evict(ctx context.Context, group string, members []kfake.GroupMember, silent []time.Duration) {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	for i, m := range members {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m.MemberID
		lm.Reason = kmsg.StringPtr("sourced broker: no request within the session timeout")
		req.Members = append(req.Members, lm)
		j.logger.Warn("embedded broker: evicting a group member that sent nothing for longer than its session timeout",
			"group", group, "member", m.MemberID, "client_host", m.ClientHost, "silent", silent[i].Round(time.Millisecond))
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, j.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		j.logger.Error("embedded broker: evicting silent group members failed", "group", group, "error", err)
	}
}
