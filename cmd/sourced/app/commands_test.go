package app

import (
	"bytes"
	"strings"
	"testing"
)

// TestOverviewListsEveryCommand: `sourced -h` names every command of the
// table, and the reference catalog's aggregates and views.
func TestOverviewListsEveryCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("sourced -h exited %d: %s", code, stderr.String())
	}
	for _, c := range commands() {
		if !strings.Contains(stdout.String(), "sourced "+c.synopsis()) {
			t.Errorf("sourced -h lacks %q:\n%s", "sourced "+c.synopsis(), stdout.String())
		}
	}
	for _, want := range []string{"invoice, profile", "invoice-search, invoice-history, profile"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("sourced -h lacks %q", want)
		}
	}
	stdout.Reset()
	if code := run(nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "sourced run view") {
		t.Errorf("sourced without a command exited %d, want %d and the overview on stderr", code, exitUsage)
	}
}

// TestEveryCommandHasHelp: `sourced <command> -h` prints the synopsis,
// what the command does, the aggregates or views it takes, then its
// flags, and exits 0; `sourced help <command>` prints the same.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.path, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(strings.Fields(c.path), "-h")
			if code := run(args, &stdout, &stderr); code != exitOK {
				t.Fatalf("sourced %s -h exited %d, want 0; stderr: %s", c.path, code, stderr.String())
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "Usage: sourced "+c.synopsis()+" [flags]\n") {
				t.Errorf("help does not start with the synopsis:\n%s", out)
			}
			if !strings.Contains(out, c.about) {
				t.Errorf("help lacks what the command does:\n%s", out)
			}
			switch c.takes {
			case "aggregate":
				if !strings.Contains(out, "Aggregates: invoice, profile\n") {
					t.Errorf("help lacks the known aggregates:\n%s", out)
				}
			case "view":
				if !strings.Contains(out, "Views: invoice-search, invoice-history, profile\n") {
					t.Errorf("help lacks the known views:\n%s", out)
				}
			}
			flags := out[strings.Index(out, "\nFlags"):]
			if c.path != "version" && !strings.Contains(flags, "\n  -") {
				t.Errorf("help lists no flags:\n%s", out)
			}
			var again bytes.Buffer
			if code := run(append([]string{"help"}, strings.Fields(c.path)...), &again, &stderr); code != exitOK || again.String() != out {
				t.Errorf("sourced help %s exited %d and printed something else than -h", c.path, code)
			}
		})
	}
	for _, group := range []string{"run", "topics", "state", "events", "view", "offsets"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{group, "-h"}, &stdout, &stderr); code != exitOK {
			t.Errorf("sourced %s -h exited %d, want 0", group, code)
		}
		for _, c := range commands() {
			if strings.HasPrefix(c.path, group+" ") && !strings.Contains(stdout.String(), "sourced "+c.synopsis()) {
				t.Errorf("sourced %s -h lacks %s:\n%s", group, c.path, stdout.String())
			}
		}
		if code := run([]string{group, "nope"}, &stdout, &stderr); code != exitUsage {
			t.Errorf("sourced %s nope exited %d, want %d", group, code, exitUsage)
		}
	}
}

// TestUnknownAggregateOrViewIsAUsageError: every command that takes an
// aggregate or a view answers an unknown one with the same message, naming
// the known ones, and exit 4, before connecting to anything.
func TestUnknownAggregateOrViewIsAUsageError(t *testing.T) {
	unknown := map[string][]string{
		"run processor": {"--aggregate", "nope"},
		"run publisher": {"--aggregate", "nope"},
		"run view":      {"--view", "nope"},
		"send":          {"nope", "id-1", "DoIt"},
		"state get":     {"nope", "id-1"},
		"events tail":   {"nope"},
		"view rebuild":  {"nope"},
		"load":          {"--aggregate", "nope"},
	}
	for _, c := range commands() {
		if c.takes == "" {
			continue
		}
		t.Run(c.path, func(t *testing.T) {
			args, ok := unknown[c.path]
			if !ok {
				t.Fatalf("no case for %s, which takes a %s", c.path, c.takes)
			}
			var stdout, stderr bytes.Buffer
			// Nothing listens on the brokers given: the check comes first.
			t.Setenv("SOURCED_BROKERS", "127.0.0.1:1")
			code := run(append(strings.Fields(c.path), args...), &stdout, &stderr)
			want := `unknown aggregate "nope" (known: invoice, profile)`
			if c.takes == "view" {
				want = `unknown view "nope" (known: invoice-search, invoice-history, profile)`
			}
			if code != exitUsage || !strings.Contains(stderr.String(), want) {
				t.Errorf("exited %d with %q, want %d and %q", code, stderr.String(), exitUsage, want)
			}
		})
	}
}
