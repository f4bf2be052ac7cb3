package bleve

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// dateLayout is one accepted form of Elasticsearch's strict_date_optional_time
// and the span of time it denotes (a date without a time is a whole day).
type dateLayout struct {
	layout   string
	fraction bool
	span     func(time.Time) time.Time
}

func addMillis(t time.Time) time.Time { return t.Add(time.Millisecond) }
func addSecond(t time.Time) time.Time { return t.Add(time.Second) }
func addMinute(t time.Time) time.Time { return t.Add(time.Minute) }
func addHour(t time.Time) time.Time   { return t.Add(time.Hour) }
func addDay(t time.Time) time.Time    { return t.AddDate(0, 0, 1) }
func addMonth(t time.Time) time.Time  { return t.AddDate(0, 1, 0) }
func addYear(t time.Time) time.Time   { return t.AddDate(1, 0, 0) }

var dateLayouts = []dateLayout{
	{"2006-01-02T15:04:05.999999999Z07:00", true, addMillis},
	{"2006-01-02T15:04:05Z07:00", false, addSecond},
	{"2006-01-02T15:04Z07:00", false, addMinute},
	{"2006-01-02T15Z07:00", false, addHour},
	{"2006-01-02T15:04:05.999999999", true, addMillis},
	{"2006-01-02T15:04:05", false, addSecond},
	{"2006-01-02T15:04", false, addMinute},
	{"2006-01-02T15", false, addHour},
	{"2006-01-02", false, addDay},
	{"2006-01", false, addMonth},
	{"2006", false, addYear},
}

// parseDate parses a date the way the date fields of a views mapping are
// rendered for Elasticsearch ("strict_date_optional_time||epoch_millis"):
// an ISO 8601 date with an optional time and zone (UTC by default), or
// milliseconds since the epoch. It returns the instant, truncated to
// milliseconds as Elasticsearch's date type stores it, and the end
// (exclusive) of the span the text denotes, which an exact filter matches
// as a whole, as Elasticsearch's term query rounds a date up.
func parseDate(s string) (start, end time.Time, err error) {
	for _, l := range dateLayouts {
		if l.fraction {
			// Go accepts a missing fraction here; the layout without it
			// (one second of span) comes next.
			if !strings.Contains(s, ".") && !strings.Contains(s, ",") {
				continue
			}
		}
		t, perr := time.Parse(l.layout, s)
		if perr != nil {
			continue
		}
		t = t.UTC().Truncate(time.Millisecond)
		return t, l.span(t), nil
	}
	if ms, perr := strconv.ParseInt(s, 10, 64); perr == nil {
		t := time.UnixMilli(ms).UTC()
		return t, addMillis(t), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s)
}

// parseDateValue reads the JSON value of a date field: a string for
// parseDate or a number of milliseconds since the epoch.
func parseDateValue(v any) (start, end time.Time, err error) {
	switch v := v.(type) {
	case string:
		return parseDate(v)
	case json.Number:
		return parseDate(v.String())
	case time.Time:
		t := v.UTC().Truncate(time.Millisecond)
		return t, addMillis(t), nil
	}
	if x, ok := toFloat(v); ok {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return time.Time{}, time.Time{}, errors.New("date is not finite")
		}
		t := time.UnixMilli(int64(x)).UTC()
		return t, addMillis(t), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("not a date: %T", v)
}
