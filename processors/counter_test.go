package processors_test

import (
	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// The counter is the smallest aggregate that exercises every path of the
// processor: events, rejections, no-op commands and a handler that panics.

type counterState struct {
	Total int `json:"total"`
}

type add struct {
	By int `json:"by"`
}

type addTwice struct {
	By int `json:"by"`
}

type touch struct{}

// atLeast is accepted (with no event) when the total is at least Min: a
// rejection that a later command can turn into an acceptance.
type atLeast struct {
	Min int `json:"min"`
}

type explode struct{}

type added struct {
	By int `json:"by"`
}

func newCounter() *processors.Aggregate[counterState] {
	a := processors.New[counterState]("counter", nil)
	processors.Handle(a, "Add", func(s counterState, c add, m processors.Meta) ([]any, error) {
		if c.By <= 0 {
			return nil, codecs.Reject(codecs.RejectInvalid, "by must be positive, got %d", c.By)
		}
		return []any{added{By: c.By}}, nil
	})
	processors.Handle(a, "AddTwice", func(s counterState, c addTwice, m processors.Meta) ([]any, error) {
		return []any{added{By: c.By}, added{By: c.By}}, nil
	})
	processors.Handle(a, "Touch", func(s counterState, c touch, m processors.Meta) ([]any, error) {
		return nil, nil
	})
	processors.Handle(a, "AtLeast", func(s counterState, c atLeast, m processors.Meta) ([]any, error) {
		if s.Total < c.Min {
			return nil, codecs.Reject("too_low", "total %d is below %d", s.Total, c.Min)
		}
		return nil, nil
	})
	processors.Handle(a, "Explode", func(s counterState, c explode, m processors.Meta) ([]any, error) {
		panic("boom")
	})
	processors.On(a, "Added", 1, func(s *counterState, e added) { s.Total += e.By })
	return a
}
