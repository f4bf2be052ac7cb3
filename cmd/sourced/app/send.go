package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// Exit codes of send, by result status.
const (
	exitRejected = 1
	exitConflict = 2
	exitTimeout  = 3
)

// errExit carries a specific exit code without an error message.
type errExit int

func (e errExit) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// runSend produces one command and waits for its result.
func (ct Catalog) runSend(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("send")
	kf := addKafkaFlags(fs)
	commandID := fs.String("command-id", "", "idempotency key (default: a new UUIDv7)")
	expected := fs.Int64("expected-version", -1, "fail with a conflict unless the aggregate is at this version")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the result")
	noWait := fs.Bool("no-wait", false, "produce the command and exit without waiting")
	pos, err := parseWithPositionals(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) < 3 || len(pos) > 4 {
		return usageError{errors.New("send: want <aggregate> <id> <command> ['<json data>']")}
	}
	if _, err := ct.findAggregate(pos[0]); err != nil {
		return err // before any connection: the same message as every other command
	}
	cmd := &codecs.Command{ID: *commandID, Aggregate: pos[0], AggregateID: pos[1], Type: pos[2], IssuedAt: time.Now().UTC()}
	if len(pos) == 4 {
		cmd.Data = json.RawMessage(pos[3])
		if !json.Valid(cmd.Data) {
			return usageError{fmt.Errorf("send: data is not valid JSON: %s", pos[3])}
		}
	}
	if cmd.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("generate command id: %w", err)
		}
		cmd.ID = id.String()
	}
	if *expected >= 0 {
		v := uint64(*expected)
		cmd.ExpectedVersion = &v
	}
	value, err := codecs.CommandCodec{}.Encode(cmd)
	if err != nil {
		return usageError{fmt.Errorf("send: %w", err)}
	}
	topics := kf.topics(cmd.Aggregate)
	_, cl, _, err := kf.connect(ctx, kgo.RecordPartitioner(kafka.Partitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Read the results from their current end, before producing, so the
	// reply cannot be missed.
	var ends kadm.ListedOffsets
	if !*noWait {
		if ends, err = kadm.NewClient(cl).ListEndOffsets(ctx, topics.Results); err != nil {
			return fmt.Errorf("find the end of %s: %w", topics.Results, err)
		}
		if err := ends.Error(); err != nil {
			return fmt.Errorf("find the end of %s: %w", topics.Results, err)
		}
	}
	rec := &kgo.Record{Topic: topics.Commands, Key: []byte(cmd.AggregateID), Value: value}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("produce to %s: %w", topics.Commands, err)
	}
	if *noWait {
		fmt.Fprintf(stdout, "{\"command_id\":%q}\n", cmd.ID)
		return nil
	}
	start := map[string]map[int32]kgo.Offset{topics.Results: {}}
	ends.Each(func(o kadm.ListedOffset) { start[topics.Results][o.Partition] = kgo.NewOffset().At(o.Offset) })
	cl.AddConsumePartitions(start)
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			fmt.Fprintf(stdout, "{\"command_id\":%q,\"status\":\"timeout\"}\n", cmd.ID)
			return errExit(exitTimeout)
		}
		var found *codecs.Result
		fetches.EachRecord(func(r *kgo.Record) {
			var res codecs.Result
			if json.Unmarshal(r.Value, &res) == nil && res.CommandID == cmd.ID && found == nil {
				found = &res
			}
		})
		if found == nil {
			continue
		}
		b, _ := json.Marshal(found)
		fmt.Fprintln(stdout, string(b))
		// A duplicate exits as its first handling did.
		switch found.Outcome() {
		case codecs.StatusRejected:
			return errExit(exitRejected)
		case codecs.StatusConflict:
			return errExit(exitConflict)
		}
		return nil
	}
}
