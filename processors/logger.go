package processors

import (
	"fmt"
	"log/slog"
)

// gokaLogger adapts slog to goka.Logger. goka logs every rebalance and
// recovery step as information; those go to Debug so that sourced's Info
// level stays quiet in steady state.
type gokaLogger struct{ l *slog.Logger }

func (g gokaLogger) Print(args ...any)   { g.l.Debug(fmt.Sprint(args...), "component", "goka") }
func (g gokaLogger) Println(args ...any) { g.l.Debug(fmt.Sprint(args...), "component", "goka") }
func (g gokaLogger) Printf(format string, args ...any) {
	g.l.Debug(fmt.Sprintf(format, args...), "component", "goka")
}
