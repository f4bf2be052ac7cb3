package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/b2dc4357/sourced/codecs"
)

// Defaults of Config.
const (
	DefaultDrain          = 10 * time.Second
	DefaultCommandTimeout = 10 * time.Second
	DefaultViewSample     = 10
	DefaultViewTimeout    = 10 * time.Second
	DefaultMaxViewChecks  = 256
	DefaultProgressEvery  = 5 * time.Second
)

// Config configures Run. Scenario, Sender, Rate and Duration are required.
type Config struct {
	// Scenario generates the commands. Required.
	Scenario *Scenario
	// Sender delivers them. Required.
	Sender Sender
	// Via names the sender in the summary ("gateway", "kafka").
	Via string
	// Viewer measures result->view-visible latency; nil skips it, and
	// ViewNote says why in the summary.
	Viewer   Viewer
	ViewNote string
	// ViewSample is N in "every Nth accepted command that recorded
	// events is checked for visibility". Default: 10; negative: none.
	ViewSample int
	// ViewTimeout bounds one visibility check. Default: 10s.
	ViewTimeout time.Duration
	// MaxViewChecks bounds the visibility checks in flight; a sample
	// beyond it is skipped (and counted). Default: 256.
	MaxViewChecks int

	// Rate is the target of commands per second. Required, > 0.
	Rate float64
	// Duration is how long commands are sent. Required, > 0.
	Duration time.Duration
	// Drain is how long Run waits after sending stopped for results still
	// outstanding; the rest count as "no result". Default: 10s.
	Drain time.Duration
	// CommandTimeout bounds the wait for one result. Default: 10s.
	CommandTimeout time.Duration
	// Seed seeds the choice of the aggregate that gets the next command
	// (the commands of each aggregate depend on the Scenario's seed).
	Seed uint64

	// Progress receives a progress line: redrawn in place every 250 ms
	// when ProgressTTY, else printed every ProgressEvery. Nil: none.
	Progress      io.Writer
	ProgressTTY   bool
	ProgressEvery time.Duration
	// Logger receives warnings. Default: discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.ViewSample == 0 {
		c.ViewSample = DefaultViewSample
	}
	if c.ViewTimeout <= 0 {
		c.ViewTimeout = DefaultViewTimeout
	}
	if c.MaxViewChecks <= 0 {
		c.MaxViewChecks = DefaultMaxViewChecks
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the configuration, joined.
func (c *Config) Validate() error {
	var errs []error
	if c.Scenario == nil {
		errs = append(errs, errors.New("load: no scenario"))
	}
	if c.Sender == nil {
		errs = append(errs, errors.New("load: no sender"))
	}
	if !(c.Rate > 0) {
		errs = append(errs, fmt.Errorf("load: rate %g: want > 0", c.Rate))
	}
	if c.Duration <= 0 {
		errs = append(errs, fmt.Errorf("load: duration %v: want > 0", c.Duration))
	}
	return errors.Join(errs...)
}

// MaxRetryAfter caps how long a shed command waits before it is sent
// again, whatever the gateway's Retry-After.
const MaxRetryAfter = 5 * time.Second

// completion is the end of one Send.
type completion struct {
	slot    int
	cmd     Command
	sent    *codecs.Command
	res     codecs.Result
	err     error
	latency time.Duration
	at      time.Time // when the result (or the error) came back
}

// viewCompletion is the end of one visibility check.
type viewCompletion struct {
	latency time.Duration
	err     error
}

// runner is the state of one Run; the loop in run owns it.
type runner struct {
	cfg    Config
	rng    *rand.Rand
	actors []Actor
	// idle holds the slots without a command in flight; pos[slot] is the
	// slot's index in idle, or -1.
	idle []int
	pos  []int
	// retry[slot] is the command a gateway shed, to send again (same id)
	// once the slot wakes up on wake after the Retry-After.
	retry []*retryCommand
	wake  chan int

	pacer    *pacer
	sendCtx  context.Context
	done     chan completion
	viewDone chan viewCompletion
	inflight int
	viewsOut int
	seq      int64
	busy     int64 // dispatches that found tokens but no idle aggregate

	start, stopAt, lastResult time.Time
	interrupted, drainExpired bool

	s            Summary
	latency      Histogram
	shedLatency  Histogram
	viewLatency  Histogram
	viewEligible int64
	lastSent     int64     // for the progress rate
	lastAt       time.Time // for the progress rate
}

// Run sends the scenario's commands at cfg.Rate for cfg.Duration (or until
// ctx is done, e.g. on Ctrl-C), waits at most cfg.Drain for outstanding
// results, and returns the summary. It returns an error only for an
// invalid configuration.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.Scenario.Size()
	r := &runner{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		actors:   make([]Actor, n),
		idle:     make([]int, n),
		pos:      make([]int, n),
		retry:    make([]*retryCommand, n),
		wake:     make(chan int, n), // each slot rests at most once at a time: sends never block
		done:     make(chan completion, 1024),
		viewDone: make(chan viewCompletion, 256),
	}
	for i := range n {
		r.idle[i], r.pos[i] = i, i
	}
	r.s = Summary{
		Aggregate: cfg.Scenario.Aggregate(), Via: cfg.Via, Seed: cfg.Seed, Rate: cfg.Rate,
		Duration: cfg.Duration.Seconds(), Aggregates: n,
		Commands: map[string]int64{}, Rejections: map[string]int64{}, NoResultReasons: map[string]int64{},
		Unexpected: map[string]int64{}, ShedReasons: map[string]int64{},
	}
	r.run(ctx)
	return r.summary(), nil
}

func (r *runner) run(ctx context.Context) {
	// Sends and view checks outlive ctx: after Ctrl-C they get the drain.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	r.sendCtx = sendCtx

	r.start = time.Now()
	r.lastAt = r.start
	r.pacer = newPacer(r.cfg.Rate, r.start)
	tick := time.NewTicker(r.pacer.interval())
	defer tick.Stop()
	every := r.cfg.ProgressEvery
	if r.cfg.ProgressTTY {
		every = 250 * time.Millisecond
	}
	prog := time.NewTicker(every)
	defer prog.Stop()
	end := time.NewTimer(r.cfg.Duration)
	defer end.Stop()

	sending := true
	var drain <-chan time.Time
	stop := func() {
		sending = false
		tick.Stop()
		r.stopAt = time.Now()
		drain = time.After(r.cfg.Drain)
	}
	ctxDone := ctx.Done()
	for sending || r.inflight > 0 || r.viewsOut > 0 {
		select {
		case <-ctxDone:
			ctxDone = nil
			if sending {
				r.interrupted = true
				stop()
			}
		case <-end.C:
			if sending {
				stop()
			}
		case now := <-tick.C:
			if sending {
				r.dispatch(now)
			}
		case c := <-r.done:
			r.complete(c)
			if sending {
				r.dispatch(time.Now())
			}
		case slot := <-r.wake:
			r.setIdle(slot)
			if sending {
				r.dispatch(time.Now())
			}
		case v := <-r.viewDone:
			r.viewsOut--
			if v.err != nil {
				r.s.View.NotVisible++
			} else {
				r.s.View.Visible++
				r.viewLatency.Record(v.latency)
			}
		case <-drain:
			// What is still outstanding gets no result.
			drain = nil
			r.drainExpired = true
			cancelSends()
		case <-prog.C:
			r.progress(false)
		}
	}
	r.progress(true)
}

// dispatch spends the tokens due at now on idle aggregates.
func (r *runner) dispatch(now time.Time) {
	n := r.pacer.available(now)
	for ; n > 0 && len(r.idle) > 0; n-- {
		r.send(r.choose())
		r.pacer.spend()
	}
	if n > 0 {
		r.busy++
	}
}

// choose picks an idle slot: the scenario's favourite when it is idle
// (a few tries), else any idle one.
func (r *runner) choose() int {
	for range 3 {
		if s := r.cfg.Scenario.pick(r.rng); r.pos[s] >= 0 {
			return s
		}
	}
	return r.idle[r.rng.IntN(len(r.idle))]
}

func (r *runner) setBusy(slot int) {
	i := r.pos[slot]
	last := r.idle[len(r.idle)-1]
	r.idle[i], r.pos[last] = last, i
	r.idle = r.idle[:len(r.idle)-1]
	r.pos[slot] = -1
}

func (r *runner) setIdle(slot int) {
	r.pos[slot] = len(r.idle)
	r.idle = append(r.idle, slot)
}

func (r *runner) actor(slot int) Actor {
	if r.actors[slot] == nil {
		r.actors[slot] = r.cfg.Scenario.Actor(slot)
	}
	return r.actors[slot]
}

// retryCommand is a shed command waiting to be sent again.
type retryCommand struct {
	cmd  Command
	sent *codecs.Command
}

// send starts one command of slot's actor: the one shed last time, else
// the actor's next.
func (r *runner) send(slot int) {
	var c Command
	var cmd *codecs.Command
	if rc := r.retry[slot]; rc != nil {
		r.retry[slot] = nil
		c, cmd = rc.cmd, rc.sent
	} else {
		c = r.actor(slot).Next()
		r.seq++
		cmd = &codecs.Command{
			ID:          fmt.Sprintf("%s-c%d", r.cfg.Scenario.cfg.Prefix, r.seq),
			Aggregate:   r.cfg.Scenario.Aggregate(),
			AggregateID: c.AggregateID,
			Type:        c.Type,
			IssuedAt:    time.Now().UTC(),
			Data:        c.Data,
		}
	}
	r.setBusy(slot)
	r.inflight++
	r.s.Sent++
	r.s.Commands[c.Type]++
	go func() {
		ctx, cancel := context.WithTimeout(r.sendCtx, r.cfg.CommandTimeout)
		defer cancel()
		start := time.Now()
		res, err := r.cfg.Sender.Send(ctx, cmd)
		at := time.Now()
		r.done <- completion{slot: slot, cmd: c, sent: cmd, res: res, err: err, latency: at.Sub(start), at: at}
	}()
}

// maxUnexpectedKinds bounds the distinct surprises listed in the summary.
const maxUnexpectedKinds = 20

// complete accounts for one command's outcome.
func (r *runner) complete(c completion) {
	r.inflight--
	var se *ShedError
	if errors.As(c.err, &se) {
		// Not produced: the same command goes again after Retry-After,
		// so the aggregate's sequence stays intact.
		r.s.Shed++
		r.s.ShedReasons[se.Code]++
		r.shedLatency.Record(c.latency)
		r.retry[c.slot] = &retryCommand{cmd: c.cmd, sent: c.sent}
		if d := min(se.RetryAfter, MaxRetryAfter); d > 0 {
			slot := c.slot
			time.AfterFunc(d, func() { r.wake <- slot })
		} else {
			r.setIdle(c.slot)
		}
		return
	}
	r.setIdle(c.slot)
	a := r.actor(c.slot)
	if c.err != nil {
		r.s.NoResult++
		r.s.NoResultReasons[reason(c.err)]++
		a.Outcome(false)
		return
	}
	r.latency.Record(c.latency)
	r.lastResult = c.at
	want := "accepted"
	if c.cmd.Expect != "" {
		want = "rejected " + c.cmd.Expect
	}
	got := string(c.res.Status)
	switch c.res.Status {
	case codecs.StatusAccepted:
		r.s.Accepted++
	case codecs.StatusRejected:
		r.s.Rejected++
		code := ""
		if c.res.Error != nil {
			code = c.res.Error.Code
		}
		r.s.Rejections[code]++
		got += " " + code
		if c.cmd.Expect != "" && code == c.cmd.Expect {
			r.s.RejectedExpected++
		}
	case codecs.StatusConflict:
		r.s.Conflict++
	case codecs.StatusDuplicate:
		r.s.Duplicate++
	default:
		// Not a status sourced emits; it still is a result.
		r.s.Other++
	}
	expected := got == want
	if !expected {
		r.s.UnexpectedTotal++
		k := fmt.Sprintf("%s: %s, want %s", c.cmd.Type, got, want)
		if _, ok := r.s.Unexpected[k]; ok || len(r.s.Unexpected) < maxUnexpectedKinds {
			r.s.Unexpected[k]++
		}
	}
	a.Outcome(expected)
	if r.cfg.Viewer != nil && r.cfg.ViewSample > 0 && c.res.Status == codecs.StatusAccepted && c.res.Events > 0 {
		r.viewEligible++
		if r.viewEligible%int64(r.cfg.ViewSample) == 0 {
			r.checkView(c)
		}
	}
}

// checkView starts measuring when the view shows c's result.
func (r *runner) checkView(c completion) {
	if r.viewsOut >= r.cfg.MaxViewChecks {
		r.s.View.Skipped++
		return
	}
	r.viewsOut++
	r.s.View.Sampled++
	view, id, version := r.cfg.Scenario.View(), c.cmd.AggregateID, c.res.Version
	go func() {
		ctx, cancel := context.WithTimeout(r.sendCtx, r.cfg.ViewTimeout)
		defer cancel()
		err := r.cfg.Viewer.WaitVisible(ctx, view, id, version)
		r.viewDone <- viewCompletion{latency: time.Since(c.at), err: err}
	}()
}
