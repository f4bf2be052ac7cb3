package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	embedded "github.com/b2dc4357/sourced/processors/kafka/broker"
)

// Retention of the topics whose records expire (DESIGN.md, Topics). The
// table and events topics keep everything (retention.ms -1).
const (
	defaultCommandsRetention = 7 * 24 * time.Hour
	defaultResultsRetention  = 24 * time.Hour
	defaultDLQRetention      = 30 * 24 * time.Hour
)

// deletableSegmentBytes is segment.bytes of the expiring topics on the
// embedded broker: the broker's own default (embedded.SegmentBytes), set
// on the topics so that a data directory created with another value
// follows it. kfake deletes a segment file (and the index of its batches)
// only when every batch in it expired, and rolls a segment only by size
// (it ignores segment.ms): with its 100 MiB default, a partition written
// at a steady pace would hold up to 100 MiB past its retention.
const deletableSegmentBytes = embedded.SegmentBytes

// retention is the retention of a deployment's expiring topics.
type retention struct {
	Commands, Results, DLQ time.Duration
}

func (r retention) shortest() time.Duration { return min(r.Commands, r.Results, r.DLQ) }

// retentionFlags are dev's --commands-retention, --results-retention and
// --dlq-retention.
type retentionFlags struct {
	commands, results, dlq *dayDuration
}

func addRetentionFlags(fs *flag.FlagSet) *retentionFlags {
	rf := &retentionFlags{
		commands: &dayDuration{d: defaultCommandsRetention},
		results:  &dayDuration{d: defaultResultsRetention},
		dlq:      &dayDuration{d: defaultDLQRetention},
	}
	fs.Var(rf.commands, "commands-retention", "how long <aggregate>-commands keeps a record (e.g. 7d, 36h, 10m)")
	fs.Var(rf.results, "results-retention", "how long <aggregate>-results keeps a record")
	fs.Var(rf.dlq, "dlq-retention", "how long <aggregate>-dlq keeps a record")
	return rf
}

func (rf *retentionFlags) retention() retention {
	return retention{Commands: rf.commands.d, Results: rf.results.d, DLQ: rf.dlq.d}
}

// given reports whether any of the flags was set, on the command line or
// through its environment variable.
func (rf *retentionFlags) given() bool { return rf.commands.set || rf.results.set || rf.dlq.set }

// dayDuration is a flag.Value holding a positive time.Duration that may
// also be written in whole days ("7d").
type dayDuration struct {
	d   time.Duration
	set bool // Set was called
}

func (v *dayDuration) String() string {
	if v == nil {
		return ""
	}
	const day = 24 * time.Hour
	if v.d > 0 && v.d%day == 0 {
		return strconv.FormatInt(int64(v.d/day), 10) + "d"
	}
	return v.d.String()
}

func (v *dayDuration) Set(s string) error {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return fmt.Errorf("%q is not a number of days", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return errors.New("want a duration such as 7d, 36h or 10m")
		}
	}
	if d < time.Second {
		return fmt.Errorf("%s is shorter than a second", s)
	}
	v.d, v.set = d, true
	return nil
}

// setRetention sets retention.ms of the commands, results and DLQ topics
// of t to r, and, when embedded, their segment.bytes to
// deletableSegmentBytes, on every start: a value given once does not stay
// behind when the flag is dropped. The topics must exist.
func setRetention(ctx context.Context, cl *kgo.Client, t codecs.Topics, r retention, embedded bool) error {
	var alters []kadm.AlterConfig
	set := func(name, value string) {
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &value})
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	adm := kadm.NewClient(cl)
	for _, tc := range []struct {
		topic string
		keep  time.Duration
	}{{t.Commands, r.Commands}, {t.Results, r.Results}, {t.DLQ, r.DLQ}} {
		alters = alters[:0]
		set("retention.ms", ms(tc.keep))
		if embedded {
			set("segment.bytes", strconv.Itoa(deletableSegmentBytes))
		}
		resp, err := adm.AlterTopicConfigs(ctx, alters, tc.topic)
		if err == nil {
			var one kadm.AlterConfigsResponse
			if one, err = resp.On(tc.topic, nil); err == nil {
				err = one.Err
			}
		}
		if err != nil {
			return fmt.Errorf("set the retention of %s: %w", tc.topic, err)
		}
	}
	return nil
}

// retentionCheckFor returns how often to delete expired records when the
// shortest retention is shortest: a tenth of it, between a second and
// embedded.DefaultRetentionCheck.
func retentionCheckFor(shortest time.Duration) time.Duration {
	return min(max(shortest/10, time.Second), embedded.DefaultRetentionCheck)
}
