package app

import (
	"flag"
	"net/http"
	"net/http/pprof"
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
