package kafka_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/processors/kafka"
)

func TestGokaLoggerLogsAtDebug(t *testing.T) {
	var buf bytes.Buffer
	l := kafka.GokaLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("partition %d: %s", 3, "recovered")
	l.Print("rebalance", " done")
	l.Println("stopped")
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="partition 3: recovered" component=goka`,
		`level=DEBUG msg="rebalance done" component=goka`,
		`level=DEBUG msg=stopped component=goka`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}

	buf.Reset()
	quiet := kafka.GokaLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	quiet.Printf("partition %d: recovered", 3)
	if buf.Len() != 0 {
		t.Errorf("logged at the default Info level: %s", buf.String())
	}
	kafka.GokaLogger(nil).Printf("nil logger %s", "discards") // must not panic
}
