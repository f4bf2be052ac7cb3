package query

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateLayouts are the forms parseDateString accepts: ES's default
// strict_date_optional_time, the space-separated form custom formats
// commonly use, and slashes. Go accepts a fractional second after the
// seconds field even when the layout has none.
var dateLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02T15",
	"2006-01-02",
	"2006-01",
	"2006",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006/01/02 15:04:05",
	"2006/01/02",
}

// dateMillis converts a date value (a JSON number of epoch millis, or a
// string: a date, epoch millis, or date math) to epoch millis. roundUp
// selects the end of the unit for rounding ("/d"), as ES does for gt and lte.
func dateMillis(v any, format string, loc *time.Location, now time.Time, roundUp bool) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		return epochMillis(x.String())
	case float64:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case string:
		return dateMath(x, format, loc, now, roundUp)
	}
	return 0, fmt.Errorf("failed to parse date field [%v]", v)
}

func epochMillis(s string) (int64, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("failed to parse date field [%s]", s)
	}
	return int64(f), nil
}

// dateMath evaluates "now", "now-1d/d", "2020-01-01||+1M/d" or a plain date.
func dateMath(s, format string, loc *time.Location, now time.Time, roundUp bool) (int64, error) {
	if loc == nil {
		loc = time.UTC
	}
	var t time.Time
	var expr string
	switch {
	case strings.HasPrefix(s, "now"):
		t, expr = now.In(loc), s[len("now"):]
	case strings.Contains(s, "||"):
		i := strings.Index(s, "||")
		ms, err := parseDateString(s[:i], format, loc, false) // ES parses the anchor rounded down
		if err != nil {
			return 0, err
		}
		t, expr = time.UnixMilli(ms).In(loc), s[i+2:]
	default:
		return parseDateString(s, format, loc, roundUp)
	}
	for expr != "" {
		op := expr[0]
		expr = expr[1:]
		if op == '/' {
			if expr == "" {
				return 0, fmt.Errorf("truncated date math [%s]", s)
			}
			var err error
			if t, err = roundDate(t, expr[0], roundUp); err != nil {
				return 0, fmt.Errorf("%w in [%s]", err, s)
			}
			expr = expr[1:]
			continue
		}
		if op != '+' && op != '-' {
			return 0, fmt.Errorf("operator not supported for date math [%s]", s)
		}
		j := 0
		for j < len(expr) && expr[j] >= '0' && expr[j] <= '9' {
			j++
		}
		n := 1
		if j > 0 {
			var err error
			if n, err = strconv.Atoi(expr[:j]); err != nil {
				return 0, fmt.Errorf("bad date math number in [%s]", s)
			}
		}
		if j >= len(expr) {
			return 0, fmt.Errorf("truncated date math [%s]", s)
		}
		if op == '-' {
			n = -n
		}
		var err error
		if t, err = addDate(t, expr[j], n); err != nil {
			return 0, fmt.Errorf("%w in [%s]", err, s)
		}
		expr = expr[j+1:]
	}
	return t.UnixMilli(), nil
}

func addDate(t time.Time, unit byte, n int) (time.Time, error) {
	switch unit {
	case 'y':
		return t.AddDate(n, 0, 0), nil
	case 'M':
		return t.AddDate(0, n, 0), nil
	case 'w':
		return t.AddDate(0, 0, 7*n), nil
	case 'd':
		return t.AddDate(0, 0, n), nil
	case 'h', 'H':
		return t.Add(time.Duration(n) * time.Hour), nil
	case 'm':
		return t.Add(time.Duration(n) * time.Minute), nil
	case 's':
		return t.Add(time.Duration(n) * time.Second), nil
	}
	return t, fmt.Errorf("unit [%c] not supported for date math", unit)
}

// roundDate truncates t to the start of unit, or with up to the last
// millisecond of that unit.
func roundDate(t time.Time, unit byte, up bool) (time.Time, error) {
	y, mo, d := t.Date()
	loc := t.Location()
	var start time.Time
	var next func(time.Time) time.Time
	switch unit {
	case 'y':
		start, next = time.Date(y, 1, 1, 0, 0, 0, 0, loc), func(x time.Time) time.Time { return x.AddDate(1, 0, 0) }
	case 'M':
		start, next = time.Date(y, mo, 1, 0, 0, 0, 0, loc), func(x time.Time) time.Time { return x.AddDate(0, 1, 0) }
	case 'w':
		wd := (int(t.Weekday()) + 6) % 7 // ISO weeks start on Monday
		start, next = time.Date(y, mo, d-wd, 0, 0, 0, 0, loc), func(x time.Time) time.Time { return x.AddDate(0, 0, 7) }
	case 'd':
		start, next = time.Date(y, mo, d, 0, 0, 0, 0, loc), func(x time.Time) time.Time { return x.AddDate(0, 0, 1) }
	case 'h', 'H':
		start, next = time.Date(y, mo, d, t.Hour(), 0, 0, 0, loc), func(x time.Time) time.Time { return x.Add(time.Hour) }
	case 'm':
		start, next = time.Date(y, mo, d, t.Hour(), t.Minute(), 0, 0, loc), func(x time.Time) time.Time { return x.Add(time.Minute) }
	case 's':
		start, next = time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, loc), func(x time.Time) time.Time { return x.Add(time.Second) }
	default:
		return t, fmt.Errorf("rounding unit [%c] not supported for date math", unit)
	}
	if up {
		return next(start).Add(-time.Millisecond), nil
	}
	return start, nil
}

// parseDateString parses one date (no math). A run of digits other than a
// four-digit year is epoch millis, as with ES's default
// "strict_date_optional_time||epoch_millis". format, when it is a Java
// pattern, is tried first.
//
// With roundUp, the time fields s leaves out take their largest value, as
// ES's round-up parser does (hour 23, minute 59, second 59, fraction .999;
// a missing month or day stays 1): "2026-11-01" is 2026-11-01T23:59:59.999.
// ES parses lte and gt bounds, and the upper end of a term on a date field,
// this way.
func parseDateString(s, format string, loc *time.Location, roundUp bool) (int64, error) {
	for _, f := range strings.Split(format, "||") {
		if layout, ok := javaLayout(f); ok {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return roundUpMissing(t, s, javaFields(f), roundUp), nil
			}
		}
	}
	if s != "" && len(s) != 4 && strings.TrimLeft(strings.TrimPrefix(s, "-"), "0123456789") == "" {
		return epochMillis(s)
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return roundUpMissing(t, s, goFields(l), roundUp), nil
		}
	}
	return 0, fmt.Errorf("failed to parse date field [%s] with format [%s]", s, defaultFormat(format))
}

// timeFields says which time fields a date pattern parses.
type timeFields struct{ hour, minute, second, fraction bool }

// goFields reads a Go layout of dateLayouts.
func goFields(layout string) timeFields {
	return timeFields{
		hour:     strings.Contains(layout, "15") || strings.Contains(layout, "03"),
		minute:   strings.Contains(layout, "04"),
		second:   strings.Contains(layout, "05"),
		fraction: strings.Contains(layout, ".0") || strings.Contains(layout, ".9"),
	}
}

// javaFields reads a Java DateTimeFormatter pattern.
func javaFields(pattern string) timeFields {
	return timeFields{
		hour:     strings.ContainsAny(pattern, "Hhk"),
		minute:   strings.Contains(pattern, "m"),
		second:   strings.Contains(pattern, "s"),
		fraction: strings.Contains(pattern, "S"),
	}
}

// roundUpMissing returns t in epoch millis; with up, the time fields that
// the pattern does not parse are set to their largest value. A fraction of
// a second in s counts as parsed even when the pattern has none, since Go
// accepts one after the seconds.
func roundUpMissing(t time.Time, s string, f timeFields, up bool) int64 {
	if !up {
		return t.UnixMilli()
	}
	y, mo, d := t.Date()
	h, m, sec := t.Clock()
	nsec := t.Nanosecond()
	if !f.hour {
		h = 23
	}
	if !f.minute {
		m = 59
	}
	if !f.second {
		sec = 59
	}
	if !f.fraction && !(f.second && strings.ContainsAny(s, ".,")) {
		nsec = int(time.Second - time.Millisecond)
	}
	return time.Date(y, mo, d, h, m, sec, nsec, t.Location()).UnixMilli()
}

func defaultFormat(f string) string {
	if f == "" {
		return "strict_date_optional_time||epoch_millis"
	}
	return f
}

// javaLayout translates the common letters of a Java DateTimeFormatter
// pattern into a Go layout. Named formats (epoch_millis, date_optional_time)
// report false: the lenient parser handles them.
func javaLayout(f string) (string, bool) {
	if f == "" || !strings.ContainsAny(f, "yMdHms") || strings.Contains(f, "_") {
		return "", false
	}
	repl := []struct{ java, goo string }{
		{"yyyy", "2006"}, {"uuuu", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"},
		{"MM", "01"}, {"M", "1"}, {"dd", "02"}, {"d", "2"}, {"HH", "15"}, {"hh", "03"},
		{"mm", "04"}, {"ss", "05"}, {"SSSSSSSSS", "000000000"}, {"SSSSSS", "000000"},
		{"SSS", "000"}, {"XXX", "Z07:00"}, {"xxx", "-07:00"}, {"Z", "-0700"}, {"a", "PM"},
		{"'T'", "T"}, {"'Z'", "Z"},
	}
	var b strings.Builder
outer:
	for i := 0; i < len(f); {
		for _, r := range repl {
			if strings.HasPrefix(f[i:], r.java) {
				b.WriteString(r.goo)
				i += len(r.java)
				continue outer
			}
		}
		b.WriteByte(f[i])
		i++
	}
	return b.String(), true
}

// parseZone parses a time_zone parameter: "UTC", "Z", "+01:00", "-0530" or
// an IANA name.
func parseZone(z string) (*time.Location, error) {
	if z == "" || z == "Z" || z == "UTC" {
		return time.UTC, nil
	}
	for _, l := range []string{"-07:00", "-0700", "-07"} {
		if t, err := time.Parse(l, z); err == nil {
			_, off := t.Zone()
			return time.FixedZone(z, off), nil
		}
	}
	return time.LoadLocation(z)
}
