package kafka

import (
	"errors"

	"github.com/IBM/sarama"
)

// EvictedAtStop reports whether err, returned by a goka processor that was
// asked to stop, says only that the group no longer knew this member when
// the member committed its last offsets: every error in it is a sarama
// consumer error whose cause is an unknown member, an old generation or a
// rebalance in progress.
//
// That happens to a replica paused past its session timeout (a long GC, a
// stalled network, SIGSTOP) and stopped before it rejoined: the group
// evicted it, so the commits it makes while it closes are refused, and
// sarama hands them to goka, which returns them from Run. Nothing is lost:
// the partitions' new owner goes on from the offsets the group has, and a
// command or snapshot seen twice is deduplicated. Such a stop is a clean
// stop, not a failure that calls for a restore.
func EvictedAtStop(err error) bool {
	if err == nil {
		return false
	}
	var ce *sarama.ConsumerError
	if errors.As(err, &ce) && isEviction(ce.Err) {
		// errors.As finds the first; every other error must be one too.
		return allEvictions(err)
	}
	return false
}

// allEvictions walks err's tree: every leaf must be a consumer error
// caused by an eviction.
func allEvictions(err error) bool {
	var ce *sarama.ConsumerError
	if e, ok := err.(*sarama.ConsumerError); ok {
		ce = e
		return isEviction(ce.Err)
	}
	switch u := err.(type) {
	case interface{ WrappedErrors() []error }: // hashicorp/go-multierror, as goka joins them
		return allOf(u.WrappedErrors())
	case interface{ Unwrap() []error }:
		return allOf(u.Unwrap())
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return allEvictions(inner)
		}
	}
	return false
}

func allOf(errs []error) bool {
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		if !allEvictions(e) {
			return false
		}
	}
	return true
}

func isEviction(err error) bool {
	return errors.Is(err, sarama.ErrUnknownMemberId) ||
		errors.Is(err, sarama.ErrIllegalGeneration) ||
		errors.Is(err, sarama.ErrRebalanceInProgress) ||
		errors.Is(err, sarama.ErrFencedInstancedId)
}
