// Package account is a bank account: opened for an owner, credited by
// deposits, debited by withdrawals that never overdraw it, and closed once
// empty. Amounts are in minor units (cents).
package account

import (
	"math"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
)

// Name is the aggregate name: its topics are account-commands, ...
const Name = "account"

// Rejection codes besides the generic ones of codecs. Clients match on
// them, so they never change.
const (
	RejectInsufficientFunds = "insufficient_funds" // a withdrawal above the balance
	RejectClosed            = "account_closed"     // any command on a closed account
	RejectBalanceNotZero    = "balance_not_zero"   // CloseAccount with money left
)

// State is the state of one account, the "state" of its snapshot.
type State struct {
	Owner    string    `json:"owner"`
	Balance  int64     `json:"balance"`
	Closed   bool      `json:"closed"`
	OpenedAt time.Time `json:"opened_at"`
}

// Commands: the gateway decodes a request body into one of these, and
// refuses unknown fields.
type (
	OpenAccount struct {
		Owner string `json:"owner"`
	}
	Deposit struct {
		Amount int64 `json:"amount"`
	}
	Withdraw struct {
		Amount int64 `json:"amount"`
	}
	CloseAccount struct{}
)

// Events: what the account recorded. Their JSON is stored for ever, so a
// change of shape gets a new schema and an upcaster (a.UpcastEvent).
type (
	AccountOpened struct {
		Owner    string    `json:"owner"`
		OpenedAt time.Time `json:"opened_at"`
	}
	Deposited struct {
		Amount int64 `json:"amount"`
	}
	Withdrawn struct {
		Amount int64 `json:"amount"`
	}
	AccountClosed struct{}
)

// New returns the definition of the account aggregate.
func New() *processors.Aggregate[State] {
	a := processors.New[State](Name, nil)

	processors.Handle(a, "OpenAccount", open)
	processors.Handle(a, "Deposit", deposit)
	processors.Handle(a, "Withdraw", withdraw)
	processors.Handle(a, "CloseAccount", closeAccount)

	processors.On(a, "AccountOpened", 1, func(s *State, e AccountOpened) { s.Owner, s.OpenedAt = e.Owner, e.OpenedAt })
	processors.On(a, "Deposited", 1, func(s *State, e Deposited) { s.Balance += e.Amount })
	processors.On(a, "Withdrawn", 1, func(s *State, e Withdrawn) { s.Balance -= e.Amount })
	processors.On(a, "AccountClosed", 1, func(s *State, _ AccountClosed) { s.Closed = true })
	return a
}

// Handlers decide: they read the state and the command and return events or
// a rejection. They are pure (time comes from m.Time), so a replay decides
// the same way.

func open(_ State, c OpenAccount, m processors.Meta) ([]any, error) {
	if m.Exists() {
		return nil, codecs.Reject(codecs.RejectAlreadyExists, "account %q is already open", m.AggregateID)
	}
	if c.Owner == "" {
		return nil, codecs.Reject(codecs.RejectInvalid, "owner: missing")
	}
	return []any{AccountOpened{Owner: c.Owner, OpenedAt: m.Time}}, nil
}

func deposit(s State, c Deposit, m processors.Meta) ([]any, error) {
	if err := usable(s, m, c.Amount); err != nil {
		return nil, err
	}
	if c.Amount > math.MaxInt64-s.Balance {
		return nil, codecs.Reject(codecs.RejectInvalid, "amount: the balance would overflow")
	}
	return []any{Deposited(c)}, nil
}

func withdraw(s State, c Withdraw, m processors.Meta) ([]any, error) {
	if err := usable(s, m, c.Amount); err != nil {
		return nil, err
	}
	if c.Amount > s.Balance {
		return nil, codecs.Reject(RejectInsufficientFunds, "withdraw %d: the balance is %d", c.Amount, s.Balance)
	}
	return []any{Withdrawn(c)}, nil
}

func closeAccount(s State, _ CloseAccount, m processors.Meta) ([]any, error) {
	if err := usable(s, m, 1); err != nil {
		return nil, err
	}
	if s.Balance != 0 {
		return nil, codecs.Reject(RejectBalanceNotZero, "account %q still holds %d", m.AggregateID, s.Balance)
	}
	return []any{AccountClosed{}}, nil
}

// usable rejects a command on an account that was never opened or is
// closed, or with an amount that is not positive.
func usable(s State, m processors.Meta, amount int64) error {
	switch {
	case !m.Exists():
		return codecs.Reject(codecs.RejectNotFound, "account %q does not exist", m.AggregateID)
	case s.Closed:
		return codecs.Reject(RejectClosed, "account %q is closed", m.AggregateID)
	case amount <= 0:
		return codecs.Reject(codecs.RejectInvalid, "amount: %d is not positive", amount)
	}
	return nil
}
