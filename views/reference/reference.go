package reference

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/views"
)

// All returns every reference view.
func All() []*views.View {
	return []*views.View{InvoiceSearch(), InvoiceHistory(), Profile()}
}

// InvoiceSearch is the state view of invoices: one document per invoice,
// with the customer, status, amounts, due date and the line descriptions
// as full text. Its "id" field is the unique sort tiebreaker.
func InvoiceSearch() *views.View {
	return &views.View{
		Name: "invoice-search", Aggregate: "invoice", Source: views.FromState,
		Mapping: views.Mapping{Properties: map[string]views.Field{
			"id":                {Type: views.Keyword},
			"version":           {Type: views.Long},
			"customer":          {Type: views.Text, WithKeyword: true},
			"status":            {Type: views.Keyword},
			"currency":          {Type: views.Keyword},
			"due_date":          {Type: views.Date},
			"total":             {Type: views.Long},
			"paid":              {Type: views.Long},
			"balance":           {Type: views.Long},
			"line_count":        {Type: views.Long},
			"line_descriptions": {Type: views.Text},
			"updated_at":        {Type: views.Date},
		}},
		State: projectInvoice,
	}
}

// invoiceState is the public JSON of the invoice state.
type invoiceState struct {
	Customer string `json:"customer"`
	Currency string `json:"currency"`
	DueDate  string `json:"due_date"`
	Status   string `json:"status"`
	Lines    []struct {
		Description string `json:"description"`
	} `json:"lines"`
	Total   int64 `json:"total"`
	Paid    int64 `json:"paid"`
	Balance int64 `json:"balance"`
}

// InvoiceDoc is a document of the invoice-search view.
type InvoiceDoc struct {
	ID               string    `json:"id"`
	Version          uint64    `json:"version"`
	Customer         string    `json:"customer"`
	Status           string    `json:"status"`
	Currency         string    `json:"currency"`
	DueDate          string    `json:"due_date,omitempty"`
	Total            int64     `json:"total"`
	Paid             int64     `json:"paid"`
	Balance          int64     `json:"balance"`
	LineCount        int       `json:"line_count"`
	LineDescriptions string    `json:"line_descriptions"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func projectInvoice(s *codecs.Snapshot) (views.Projection, error) {
	var st invoiceState
	if err := json.Unmarshal(s.State, &st); err != nil {
		return views.Projection{}, fmt.Errorf("decode invoice state: %w", err)
	}
	descs := make([]string, len(st.Lines))
	for i, l := range st.Lines {
		descs[i] = l.Description
	}
	return views.Projection{Action: views.Put, Doc: InvoiceDoc{
		ID: s.AggregateID, Version: s.Version, Customer: st.Customer, Status: st.Status, Currency: st.Currency,
		DueDate: st.DueDate, Total: st.Total, Paid: st.Paid, Balance: st.Balance,
		LineCount: len(st.Lines), LineDescriptions: strings.Join(descs, "\n"), UpdatedAt: s.UpdatedAt,
	}}, nil
}

// InvoiceHistory is the event view of invoices: one document per event,
// id "<invoice id>:<version>", in monthly indices behind the
// "invoice-history" alias.
func InvoiceHistory() *views.View {
	return &views.View{
		Name: "invoice-history", Aggregate: "invoice", Source: views.FromEvents,
		Mapping: views.Mapping{Properties: map[string]views.Field{
			"aggregate_id": {Type: views.Keyword},
			"version":      {Type: views.Long},
			"type":         {Type: views.Keyword},
			"command_id":   {Type: views.Keyword},
			"occurred_at":  {Type: views.Date},
			"data":         {Type: views.Text},
		}},
		Event: projectInvoiceEvent,
	}
}

// HistoryDoc is a document of the invoice-history view; Data is the
// event's data as JSON text, searchable as full text.
type HistoryDoc struct {
	AggregateID string    `json:"aggregate_id"`
	Version     uint64    `json:"version"`
	Type        string    `json:"type"`
	CommandID   string    `json:"command_id"`
	OccurredAt  time.Time `json:"occurred_at"`
	Data        string    `json:"data"`
}

func projectInvoiceEvent(e *codecs.Event) (views.Projection, error) {
	return views.Projection{Action: views.Put, Doc: HistoryDoc{
		AggregateID: e.AggregateID, Version: e.Version, Type: e.Type, CommandID: e.CommandID,
		OccurredAt: e.OccurredAt, Data: string(e.Data),
	}}, nil
}

// Profile is the state view of profiles: the username as text and
// keyword, followers and following as lists and counts. Hot profiles get
// many small updates, which the projector coalesces per batch.
func Profile() *views.View {
	return &views.View{
		Name: "profile", Aggregate: "profile", Source: views.FromState,
		Mapping: views.Mapping{Properties: map[string]views.Field{
			"id":              {Type: views.Keyword},
			"version":         {Type: views.Long},
			"username":        {Type: views.Text, WithKeyword: true},
			"followers":       {Type: views.Keyword},
			"following":       {Type: views.Keyword},
			"followers_count": {Type: views.Long},
			"following_count": {Type: views.Long},
			"updated_at":      {Type: views.Date},
		}},
		State: projectProfile,
	}
}

// ProfileDoc is a document of the profile view.
type ProfileDoc struct {
	ID             string    `json:"id"`
	Version        uint64    `json:"version"`
	Username       string    `json:"username"`
	Followers      []string  `json:"followers"`
	Following      []string  `json:"following"`
	FollowersCount int       `json:"followers_count"`
	FollowingCount int       `json:"following_count"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func projectProfile(s *codecs.Snapshot) (views.Projection, error) {
	var st struct {
		Username  string   `json:"username"`
		Following []string `json:"following"`
		Followers []string `json:"followers"`
	}
	if err := json.Unmarshal(s.State, &st); err != nil {
		return views.Projection{}, fmt.Errorf("decode profile state: %w", err)
	}
	if st.Followers == nil {
		st.Followers = []string{}
	}
	if st.Following == nil {
		st.Following = []string{}
	}
	return views.Projection{Action: views.Put, Doc: ProfileDoc{
		ID: s.AggregateID, Version: s.Version, Username: st.Username,
		Followers: st.Followers, Following: st.Following,
		FollowersCount: len(st.Followers), FollowingCount: len(st.Following), UpdatedAt: s.UpdatedAt,
	}}, nil
}
