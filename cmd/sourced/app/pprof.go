package app

import (
	"context"
	"flag"
	"net/http"
	"net/http/pprof"
	rpprof "runtime/pprof"
)

// addPprofFlag adds --pprof (env SOURCED_PPROF) to fs: serve Go's
// profiles on the --http listener. Off by default: a heap or CPU profile
// costs the process while it is taken, and the goroutine dump shows
// request paths.
func addPprofFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("pprof", false, "serve Go's runtime profiles on /debug/pprof/ of --http (heap, goroutine, profile?seconds=N, ...)")
}

// servePprof mounts net/http/pprof on /debug/pprof/ of o's endpoint when
// on is true and the endpoint is on. Nothing is mounted otherwise, so the
// routes answer 404 by default.
func (o *ops) servePprof(on bool) {
	if !on || o.srv == nil {
		return
	}
	o.srv.Handle("GET /debug/pprof/", http.HandlerFunc(pprof.Index))
	o.srv.Handle("GET /debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline))
	o.srv.Handle("GET /debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	o.srv.Handle("GET /debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	o.srv.Handle("POST /debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	o.srv.Handle("GET /debug/pprof/trace", http.HandlerFunc(pprof.Trace))
}

// labelRole runs f with the pprof label role=name on its goroutine, which
// every goroutine it starts inherits: a CPU profile of a process running
// several roles (`sourced dev`) then tells their costs apart, e.g.
// `go tool pprof -tags cpu.prof` or `-tagfocus role=broker`.
func labelRole(ctx context.Context, name string, f func(context.Context) error) error {
	var err error
	rpprof.Do(ctx, rpprof.Labels("role", name), func(ctx context.Context) { err = f(ctx) })
	return err
}
