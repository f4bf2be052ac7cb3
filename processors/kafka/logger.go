package kafka

import (
	"fmt"
	"log/slog"

	"github.com/lovoo/goka"
)

// GokaLogger adapts l to goka.Logger, for goka.WithLogger and
// goka.WithViewLogger. goka logs every rebalance and recovery step as
// information; those go to Debug with component=goka, so that sourced's Info
// level stays quiet in steady state. A nil l discards everything. The
// returned logger is safe for concurrent use, as l is.
func GokaLogger(l *slog.Logger) goka.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return gokaLogger{l}
}

type gokaLogger struct{ l *slog.Logger }

func (g gokaLogger) Print(args ...any)   { g.l.Debug(fmt.Sprint(args...), "component", "goka") }
func (g gokaLogger) Println(args ...any) { g.l.Debug(fmt.Sprint(args...), "component", "goka") }
func (g gokaLogger) Printf(format string, args ...any) {
	g.l.Debug(fmt.Sprintf(format, args...), "component", "goka")
}
