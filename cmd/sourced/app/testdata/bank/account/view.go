package account

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/views"
)

// Balances is a state view: one document per account, kept up to date from
// the account table and searchable at /v1/views/balances.
func Balances() *views.View {
	return &views.View{
		Name: "balances", Aggregate: Name, Source: views.FromState,
		Mapping: views.Mapping{Properties: map[string]views.Field{
			"id":         {Type: views.Keyword}, // the unique sort tiebreaker
			"owner":      {Type: views.Text, WithKeyword: true},
			"balance":    {Type: views.Long},
			"status":     {Type: views.Keyword},
			"updated_at": {Type: views.Date},
		}},
		State: project,
	}
}

// Balance is a document of the balances view.
type Balance struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"`
	Balance   int64     `json:"balance"`
	Status    string    `json:"status"` // open or closed
	UpdatedAt time.Time `json:"updated_at"`
}

func project(s *codecs.Snapshot) (views.Projection, error) {
	var st State
	if err := json.Unmarshal(s.State, &st); err != nil {
		return views.Projection{}, fmt.Errorf("decode account state: %w", err)
	}
	status := "open"
	if st.Closed {
		status = "closed"
	}
	return views.Projection{Action: views.Put, Doc: Balance{
		ID: s.AggregateID, Owner: st.Owner, Balance: st.Balance, Status: status, UpdatedAt: s.UpdatedAt,
	}}, nil
}
