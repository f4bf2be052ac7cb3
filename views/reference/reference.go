package reference

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/codecs/jsonlite"
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

// AppendJSON appends the document as encoding/json encodes it
// (views.DocAppender).
func (d InvoiceDoc) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonlite.AppendString(b, d.ID)
	b = append(b, `,"version":`...)
	b = jsonlite.AppendUint(b, d.Version)
	b = append(b, `,"customer":`...)
	b = jsonlite.AppendString(b, d.Customer)
	b = append(b, `,"status":`...)
	b = jsonlite.AppendString(b, d.Status)
	b = append(b, `,"currency":`...)
	b = jsonlite.AppendString(b, d.Currency)
	if d.DueDate != "" {
		b = append(b, `,"due_date":`...)
		b = jsonlite.AppendString(b, d.DueDate)
	}
	b = append(b, `,"total":`...)
	b = jsonlite.AppendInt(b, d.Total)
	b = append(b, `,"paid":`...)
	b = jsonlite.AppendInt(b, d.Paid)
	b = append(b, `,"balance":`...)
	b = jsonlite.AppendInt(b, d.Balance)
	b = append(b, `,"line_count":`...)
	b = jsonlite.AppendInt(b, int64(d.LineCount))
	b = append(b, `,"line_descriptions":`...)
	b = jsonlite.AppendString(b, d.LineDescriptions)
	b = append(b, `,"updated_at":`...)
	b, err := jsonlite.AppendTime(b, d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
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

// AppendJSON appends the document as encoding/json encodes it
// (views.DocAppender).
func (d HistoryDoc) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"aggregate_id":`...)
	b = jsonlite.AppendString(b, d.AggregateID)
	b = append(b, `,"version":`...)
	b = jsonlite.AppendUint(b, d.Version)
	b = append(b, `,"type":`...)
	b = jsonlite.AppendString(b, d.Type)
	b = append(b, `,"command_id":`...)
	b = jsonlite.AppendString(b, d.CommandID)
	b = append(b, `,"occurred_at":`...)
	b, err := jsonlite.AppendTime(b, d.OccurredAt)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"data":`...)
	b = jsonlite.AppendString(b, d.Data)
	return append(b, '}'), nil
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
	st, ok := decodeProfileStateLite(s.State)
	if !ok {
		// A variable of its own: decoding into st would move st to the
		// heap on the fast path too (an allocation per snapshot).
		var full profileState
		if err := json.Unmarshal(s.State, &full); err != nil {
			return views.Projection{}, fmt.Errorf("decode profile state: %w", err)
		}
		st = full
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

// profileState is the public JSON of the profile state, as far as the
// view reads it.
type profileState struct {
	Username  string   `json:"username"`
	Following []string `json:"following"`
	Followers []string `json:"followers"`
}

// decodeProfileStateLite decodes the common profile state without
// reflection; ok is false when encoding/json must decode it instead.
func decodeProfileStateLite(b []byte) (st profileState, ok bool) {
	r := jsonlite.Reader{Data: b}
	if !r.BeginObject() {
		return st, false
	}
	for {
		key, more := r.NextKey()
		if !more {
			break
		}
		switch string(key) {
		case "username":
			if !r.Null() {
				st.Username = r.String()
			}
		case "following":
			st.Following = r.Strings(st.Following[:0:0])
		case "followers":
			st.Followers = r.Strings(st.Followers[:0:0])
		default:
			if jsonlite.FoldsToAny(key, "username", "following", "followers") {
				return st, false
			}
			r.Skip()
		}
	}
	return st, r.End() == nil
}

// AppendJSON appends the document as encoding/json encodes it
// (views.DocAppender).
func (d ProfileDoc) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonlite.AppendString(b, d.ID)
	b = append(b, `,"version":`...)
	b = jsonlite.AppendUint(b, d.Version)
	b = append(b, `,"username":`...)
	b = jsonlite.AppendString(b, d.Username)
	b = append(b, `,"followers":`...)
	b = appendStrings(b, d.Followers)
	b = append(b, `,"following":`...)
	b = appendStrings(b, d.Following)
	b = append(b, `,"followers_count":`...)
	b = jsonlite.AppendInt(b, int64(d.FollowersCount))
	b = append(b, `,"following_count":`...)
	b = jsonlite.AppendInt(b, int64(d.FollowingCount))
	b = append(b, `,"updated_at":`...)
	b, err := jsonlite.AppendTime(b, d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendStrings appends ss as encoding/json does (null for nil).
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	return jsonlite.AppendStrings(b, ss)
}
