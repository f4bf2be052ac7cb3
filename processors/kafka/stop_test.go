package kafka_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/hashicorp/go-multierror"

	"github.com/b2dc4357/sourced/processors/kafka"
)

// goka's Processor.Run joins what sarama's consumer group returns from
// Close with hashicorp/go-multierror, as these errors are built.
func closing(errs ...error) error {
	var me *multierror.Error
	for _, e := range errs {
		me = multierror.Append(me, fmt.Errorf("Error closing consumer group: %w", e))
	}
	return me.ErrorOrNil()
}

func consumerErr(err error) error {
	return &sarama.ConsumerError{Topic: "t-invoice-table", Partition: 1, Err: err}
}

func TestEvictedAtStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"commit refused: unknown member", closing(consumerErr(sarama.ErrUnknownMemberId)), true},
		{"commit refused: old generation, twice", closing(consumerErr(sarama.ErrIllegalGeneration), consumerErr(sarama.ErrRebalanceInProgress)), true},
		{"a broker down is not an eviction", closing(consumerErr(sarama.ErrNotCoordinatorForConsumer)), false},
		{"an eviction beside a real failure", closing(consumerErr(sarama.ErrUnknownMemberId), errors.New("store: disk full")), false},
		{"a processing error", errors.New("error processing message"), false},
		{"errors.Join of evictions", errors.Join(consumerErr(sarama.ErrUnknownMemberId), consumerErr(sarama.ErrUnknownMemberId)), true},
	} {
		if got := kafka.EvictedAtStop(tc.err); got != tc.want {
			t.Errorf("%s: EvictedAtStop(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
