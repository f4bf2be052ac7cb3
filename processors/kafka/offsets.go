package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ErrGroupActive is returned when resetting the offsets of a group that has
// live members: they would overwrite the reset with their next commit.
var ErrGroupActive = errors.New("group has live members")

// OffsetTarget is where an offset reset moves a group: "earliest",
// "latest", an RFC 3339 timestamp (the first offset at or after it), or an
// offset (clamped to what the partition holds).
type OffsetTarget struct {
	kind   string // earliest, latest, time, offset
	time   time.Time
	offset int64
}

// ParseOffsetTarget parses "earliest", "latest", an RFC 3339 timestamp or
// a non-negative offset.
func ParseOffsetTarget(s string) (OffsetTarget, error) {
	switch s {
	case "earliest", "latest":
		return OffsetTarget{kind: s}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return OffsetTarget{kind: "time", time: t}, nil
	}
	if o, err := strconv.ParseInt(s, 10, 64); err == nil && o >= 0 {
		return OffsetTarget{kind: "offset", offset: o}, nil
	}
	return OffsetTarget{}, fmt.Errorf("offset target %q: want earliest, latest, an RFC 3339 time or an offset", s)
}

// String returns the target as parsed.
func (t OffsetTarget) String() string {
	switch t.kind {
	case "time":
		return t.time.Format(time.RFC3339)
	case "offset":
		return strconv.FormatInt(t.offset, 10)
	}
	return t.kind
}

// OffsetPlan is what an offset reset would commit.
type OffsetPlan struct {
	// Group is the consumer group.
	Group string
	// Target is where the group moves.
	Target OffsetTarget
	// Rows hold one partition each, sorted by topic and partition.
	Rows []OffsetPlanRow
}

// OffsetPlanRow is one partition of a plan.
type OffsetPlanRow struct {
	Topic     string
	Partition int32
	// Current is the committed offset, -1 when none.
	Current int64
	// Next is the offset the group will read next after the reset.
	Next int64
	// Start and End are the partition's first and next offsets.
	Start, End int64
}

// Print writes the plan as a table.
func (p *OffsetPlan) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT\tNEW\tLOG START\tLOG END\n")
	for _, r := range p.Rows {
		cur := strconv.FormatInt(r.Current, 10)
		if r.Current < 0 {
			cur = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\n", p.Group, r.Topic, r.Partition, cur, r.Next, r.Start, r.End)
	}
	tw.Flush()
}

// PlanOffsetReset computes the offsets that moving group to target would
// commit for topics (default: every topic the group has committed
// offsets for). It fails with ErrGroupActive while the group has members.
func PlanOffsetReset(ctx context.Context, adm *kadm.Client, group string, topics []string, target OffsetTarget) (*OffsetPlan, error) {
	if err := checkGroupInactive(ctx, adm, group); err != nil {
		return nil, err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	if len(topics) == 0 {
		topics = committed.Offsets().TopicsSet().Topics()
		if len(topics) == 0 {
			return nil, fmt.Errorf("group %s has no committed offsets: name the topics", group)
		}
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	var after kadm.ListedOffsets
	if target.kind == "time" {
		after, err = adm.ListOffsetsAfterMilli(ctx, target.time.UnixMilli(), topics...)
		if err == nil {
			err = after.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list offsets after %s: %w", target, err)
		}
	}
	plan := &OffsetPlan{Group: group, Target: target}
	ends.Each(func(e kadm.ListedOffset) {
		row := OffsetPlanRow{Topic: e.Topic, Partition: e.Partition, Current: -1, End: e.Offset}
		if s, ok := starts.Lookup(e.Topic, e.Partition); ok {
			row.Start = s.Offset
		}
		if c, ok := committed.Lookup(e.Topic, e.Partition); ok && c.Err == nil {
			row.Current = c.At
		}
		switch target.kind {
		case "earliest":
			row.Next = row.Start
		case "latest":
			row.Next = row.End
		case "time":
			row.Next = row.End
			if a, ok := after.Lookup(e.Topic, e.Partition); ok && a.Offset >= 0 {
				row.Next = a.Offset
			}
		case "offset":
			row.Next = min(max(target.offset, row.Start), row.End)
		}
		plan.Rows = append(plan.Rows, row)
	})
	if len(plan.Rows) == 0 {
		return nil, fmt.Errorf("topics %s: no partitions (missing?)", strings.Join(topics, ", "))
	}
	sort.Slice(plan.Rows, func(i, j int) bool {
		a, b := plan.Rows[i], plan.Rows[j]
		return a.Topic < b.Topic || (a.Topic == b.Topic && a.Partition < b.Partition)
	})
	return plan, nil
}

// ApplyOffsetPlan commits a plan, checking again that the group has no
// live members.
func ApplyOffsetPlan(ctx context.Context, adm *kadm.Client, plan *OffsetPlan) error {
	if err := checkGroupInactive(ctx, adm, plan.Group); err != nil {
		return err
	}
	var os kadm.Offsets
	for _, r := range plan.Rows {
		os.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.Next, LeaderEpoch: -1})
	}
	if err := adm.CommitAllOffsets(ctx, plan.Group, os); err != nil {
		return fmt.Errorf("commit offsets of group %s: %w", plan.Group, err)
	}
	return nil
}

func checkGroupInactive(ctx context.Context, adm *kadm.Client, group string) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describe group %s: %w", group, err)
	}
	d, ok := described[group]
	if !ok {
		return nil
	}
	if d.Err != nil {
		return fmt.Errorf("describe group %s: %w", group, d.Err)
	}
	if len(d.Members) > 0 {
		hosts := make([]string, 0, len(d.Members))
		for _, m := range d.Members {
			hosts = append(hosts, m.ClientID+"@"+m.ClientHost)
		}
		return fmt.Errorf("%w: %s is %s with %d members (%s): stop them first", ErrGroupActive, group,
			d.State, len(d.Members), strings.Join(hosts, ", "))
	}
	return nil
}
