package views

import (
	"fmt"
	"log/slog"
)

// gokaLogger adapts slog to goka.Logger, at Debug: goka logs every
// rebalance step as information.
type gokaLogger struct{ l *slog.Logger }

func (g gokaLogger) Print(args ...any)   { g.l.Debug(fmt.Sprint(args...), "component", "goka") }
func (g gokaLogger) Println(args ...any) { g.l.Debug(fmt.Sprint(args...), "component", "goka") }
func (g gokaLogger) Printf(format string, args ...any) {
	g.l.Debug(fmt.Sprintf(format, args...), "component", "goka")
}
