package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// stdio is where a command writes.
type stdio struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
}

// command is one row of the command table, which gives the dispatch, the
// overview (`sourced -h`) and each command's help (`sourced <command> -h`).
type command struct {
	// path is the command's words: "dev", "run processor".
	path string
	// args is the synopsis of its positional arguments.
	args string
	// summary is its line in the overview.
	summary string
	// about says what it does, in its help.
	about string
	// takes is "aggregate" or "view" when it takes one: its help lists
	// the catalog's.
	takes string
	// run runs it with the arguments after path.
	run func(ct Catalog, ctx context.Context, args []string, io stdio) error
}

// commands is the command table, in the order of the overview.
func commands() []command {
	return []command{
		{path: "dev", summary: "everything in one process: broker, topics, every role, views, gateway",
			about: `Runs the embedded broker (or connects to --brokers), creates the topics, and runs the
processor and publisher of every aggregate, the projector of every view (into bleve in
<data-dir>/views, or Elasticsearch with --es-url) and the HTTP gateway on --http, until
Ctrl-C or SIGTERM stops it cleanly. A restart on the same --data-dir resumes.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runDev(ctx, args, io.stdout, io.logger)
			}},
		{path: "broker", summary: "the embedded Kafka-protocol broker alone",
			about: `Runs the embedded Kafka-protocol broker (franz-go's kfake with sourced's crash marker and
group janitor), persisting topics, records and offsets in <data-dir>/broker, optionally
requiring SASL and TLS, until Ctrl-C or SIGTERM.`,
			run: func(_ Catalog, ctx context.Context, args []string, io stdio) error {
				return runBroker(ctx, args, io.stdout, io.logger)
			}},
		{path: "topics ensure", summary: "create or verify the topics of every aggregate",
			about: `Creates the commands, table, events, results and dead-letter topics of every aggregate
with the configs sourced needs, or verifies existing ones (partition count, cleanup
policy, min.insync.replicas), and fails with a clear message on a mismatch.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runTopics(ctx, append([]string{"ensure"}, args...), io.stdout)
			}},
		{path: "run processor", args: "--aggregate NAME", takes: "aggregate", summary: "the command processor of one aggregate (replicas share partitions)",
			about: `Runs the processor group of the aggregate given by --aggregate: it decides every command
against the snapshot in its LevelDB store and writes snapshots and results. Replicas share
the partitions; --standby keeps warm copies of the others.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runRole(ctx, append([]string{"processor"}, args...), io.stdout, io.logger)
			}},
		{path: "run publisher", args: "--aggregate NAME", takes: "aggregate", summary: "the event publisher of one aggregate",
			about: `Runs the publisher group of the aggregate given by --aggregate: it copies the events of
every snapshot from the table topic to the events topic, checking that versions have no gap.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runRole(ctx, append([]string{"publisher"}, args...), io.stdout, io.logger)
			}},
		{path: "run view", args: "--view NAME", takes: "view", summary: "the projector of one view into its store",
			about: `Runs the projector of the view given by --view: it batches the view's documents into
Elasticsearch (--es-url; else the bleve index in <data-dir>/views, which only one process
may open) and commits offsets only after they are stored. Replicas share the partitions.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runView(ctx, args, io.stdout, io.logger)
			}},
		{path: "run gateway", summary: "the HTTP API, with /metrics, /healthz, /readyz",
			about: `Serves the HTTP API on --http: POST /v1/{aggregate}/{id}/{command} sends a command and
waits for its result; GET /v1/{aggregate}/{id} reads a snapshot; /v1/views/ reads and
searches the views (with --es-url). Replicas need no coordination.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runGateway(ctx, args, io.stdout, io.logger)
			}},
		{path: "send", args: "AGGREGATE ID COMMAND ['JSON']", takes: "aggregate", summary: "send a command and print its result",
			about: `Sends one command to the aggregate's commands topic and prints its result. Exits 0
accepted, 1 rejected, 2 conflict, 3 timeout, 4 usage or connection error; a retried
--command-id (a duplicate) exits as its first handling did.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runSend(ctx, args, io.stdout)
			}},
		{path: "state get", args: "AGGREGATE ID", takes: "aggregate", summary: "print one snapshot, read from the table topic",
			about: `Prints the snapshot of one aggregate (state, version, recent command ids, last step),
read from its table topic.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runStateGet(ctx, args, io.stdout)
			}},
		{path: "state dump", summary: "print the snapshots of a stopped replica's data dir",
			about: `Prints the snapshots kept in the state stores of --data-dir (a stopped replica's, or a
stopped dev's), offline.`,
			run: func(_ Catalog, _ context.Context, args []string, io stdio) error {
				return runStateDump(args, io.stdout)
			}},
		{path: "events tail", args: "AGGREGATE [ID]", takes: "aggregate", summary: "print events as JSON lines, following new ones",
			about: `Prints the events of an aggregate (of one id, when given) as JSON lines and follows new
ones until Ctrl-C; --from-beginning starts at the oldest.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runEventsTail(ctx, args, io.stdout)
			}},
		{path: "view rebuild", args: "VIEW", takes: "view", summary: "rebuild a view from the log with no downtime",
			about: `Fills a new generation of the view by replay, swaps the alias atomically, replays up
to the watermarks read after the swap and deletes the old generation (--keep-old keeps
it). With the embedded store, --gateway runs it inside dev through its gateway.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runViewRebuild(ctx, args, io.stdout, io.logger)
			}},
		{path: "offsets reset", args: "--group G --to earliest|latest|TIME|OFFSET", summary: "reset a stopped consumer group's offsets",
			about: `Plans a reset of --group's offsets to --to (earliest, latest, an RFC 3339 time or an
offset), refusing while the group has live members; prints the plan and applies it only
with --execute.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return runOffsetsReset(ctx, args, io.stdout)
			}},
		{path: "load", args: "--aggregate NAME", takes: "aggregate", summary: "generate traffic and print throughput and latency",
			about: `Generates realistic traffic for --aggregate (only the reference aggregates invoice and
profile have a generator) through the gateway or Kafka, with a progress bar, then prints
sent, accepted, rejected, throughput and latency percentiles.`,
			run: func(ct Catalog, ctx context.Context, args []string, io stdio) error {
				return ct.runLoad(ctx, args, io.stdout, io.stderr, io.logger)
			}},
		{path: "version", summary: "print the version stamped at build time",
			about: `Prints the version stamped at build time, the Go toolchain, the OS and the architecture.`,
			run: func(ct Catalog, _ context.Context, args []string, io stdio) error {
				return ct.runVersion(args, io.stdout)
			}},
		{path: "probe", args: "URL", summary: "exit 0 when URL answers 2xx (container health checks)",
			about: `Requests URL and exits 0 when it answers 2xx, else 1 with the status and body: a health
check for images without a shell or curl.`,
			run: func(_ Catalog, ctx context.Context, args []string, io stdio) error {
				return runProbe(ctx, args, io.stdout)
			}},
	}
}

// helpRequest is what parsing returns for -h: the dispatcher prints the
// command's help with fs's flags and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (helpRequest) Error() string { return "help requested" }

// lookup returns the command that args start with and the arguments
// after its path; ok is false when no command matches. A word that only
// starts commands ("run", "state") returns them as group.
func lookup(args []string) (cmd command, rest []string, group []command, ok bool) {
	for _, c := range commands() {
		words := strings.Fields(c.path)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.path {
			return c, args[len(words):], nil, true
		}
		if len(words) > 1 && len(args) >= 1 && args[0] == words[0] {
			group = append(group, c)
		}
	}
	return command{}, nil, group, false
}

// dispatch runs the command args name and returns the exit code.
func (ct Catalog) dispatch(ctx context.Context, args []string, io stdio) int {
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			// `sourced help send` is `sourced send -h`.
			return ct.dispatch(ctx, append(append([]string{}, args[1:]...), "-h"), io)
		}
		ct.overview(io.stdout)
		return exitOK
	}
	cmd, rest, group, ok := lookup(args)
	if !ok {
		if len(group) == 0 {
			fmt.Fprintf(io.stderr, "sourced: unknown command %q\n", args[0])
			ct.overview(io.stderr)
			return exitUsage
		}
		// A group word alone, with -h, or with an unknown subcommand.
		w, code := io.stderr, exitUsage
		if len(args) == 2 && isHelpFlag(args[1]) {
			w, code = io.stdout, exitOK
		} else if len(args) > 1 {
			fmt.Fprintf(io.stderr, "sourced: unknown command %q\n", strings.Join(args[:2], " "))
		} else {
			fmt.Fprintf(io.stderr, "sourced: %q needs a subcommand\n", args[0])
		}
		fmt.Fprintf(w, "Usage:\n\n")
		for _, c := range group {
			fmt.Fprintf(w, "  sourced %-30s %s\n", c.synopsis(), c.summary)
		}
		fmt.Fprintf(w, "\nRun \"sourced <command> -h\" for its flags.\n")
		return code
	}
	err := cmd.run(ct, ctx, rest, io)
	var help helpRequest
	if errors.As(err, &help) {
		ct.help(io.stdout, cmd, help.fs)
		return exitOK
	}
	if cmd.path == "send" && err != nil && !errors.As(err, new(errExit)) {
		// send exits 4 for usage and connection errors alike.
		fmt.Fprintln(io.stderr, "sourced:", err)
		return exitUsage
	}
	if err != nil {
		var code errExit
		if errors.As(err, &code) {
			return int(code)
		}
		// Only an unwrapped usage error exits 4, as before the table.
		if ue, ok := err.(usageError); ok {
			fmt.Fprintln(io.stderr, "sourced:", ue.Error())
			return exitUsage
		}
		fmt.Fprintln(io.stderr, "sourced:", err)
		return exitError
	}
	return exitOK
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// synopsis is the command's words and positional arguments.
func (c command) synopsis() string {
	if c.args == "" {
		return c.path
	}
	return c.path + " " + c.args
}

// known lists the catalog's aggregates or views, as a command that takes
// one names them.
func (ct Catalog) known(takes string) string {
	var names []string
	switch takes {
	case "aggregate":
		for _, def := range ct.Aggregates {
			names = append(names, def.Name())
		}
	case "view":
		for _, v := range ct.Views {
			names = append(names, v.Name)
		}
	}
	return strings.Join(names, ", ")
}

// help prints a command's synopsis, what it does, the aggregates or views
// it knows, and its flags.
func (ct Catalog) help(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: sourced %s [flags]\n\n%s\n", c.synopsis(), c.about)
	switch c.takes {
	case "aggregate":
		fmt.Fprintf(w, "\nAggregates: %s\n", ct.known("aggregate"))
	case "view":
		known := ct.known("view")
		if known == "" {
			known = "(none)"
		}
		fmt.Fprintf(w, "\nViews: %s\n", known)
	}
	fmt.Fprintf(w, "\nFlags (each also read from SOURCED_<NAME>, e.g. --data-dir from SOURCED_DATA_DIR):\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// overview prints every command of the table.
func (ct Catalog) overview(w io.Writer) {
	fmt.Fprintf(w, "sourced: event-sourced aggregates on Kafka\n\nAggregates: %s\n", ct.known("aggregate"))
	if v := ct.known("view"); v != "" {
		fmt.Fprintf(w, "Views:      %s\n", v)
	}
	fmt.Fprintf(w, "\nCommands:\n\n")
	for _, c := range commands() {
		syn := c.synopsis()
		if len(syn) > 28 {
			fmt.Fprintf(w, "  sourced %s\n  %-36s %s\n", syn, "", c.summary)
			continue
		}
		fmt.Fprintf(w, "  sourced %-28s %s\n", syn, c.summary)
	}
	fmt.Fprint(w, `
Run "sourced <command> -h" (or "sourced help <command>") for what it does and its flags.
Every flag also reads an environment variable: --data-dir from SOURCED_DATA_DIR, and so on.
`)
}
