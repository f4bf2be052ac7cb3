package telemetry

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/mux"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/web/index"
	"github.com/lovoo/goka/web/monitor"
)

// GokaPath is where HandleGoka mounts goka's web monitor.
const GokaPath = "/goka/"

// GokaMonitor serves goka's web monitor (an index page and the monitor
// with each processor's and view's topics and partition statistics) for
// the processors and views currently set. Roles rebuilt after a failure
// set their new processor under the same name, replacing the old one.
// goka's pages show topics, codec types, offsets and partition states, no
// client configuration, so no credential can appear on them. The zero
// value serves an empty monitor.
type GokaMonitor struct {
	mu         sync.Mutex
	processors map[string]*goka.Processor
	views      map[string]*goka.View
}

// SetProcessor shows p under name; a nil p removes it.
func (m *GokaMonitor) SetProcessor(name string, p *goka.Processor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.processors == nil {
		m.processors = map[string]*goka.Processor{}
	}
	if p == nil {
		delete(m.processors, name)
		return
	}
	m.processors[name] = p
}

// SetView shows v under name; a nil v removes it.
func (m *GokaMonitor) SetView(name string, v *goka.View) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.views == nil {
		m.views = map[string]*goka.View{}
	}
	if v == nil {
		delete(m.views, name)
		return
	}
	m.views[name] = v
}

// snapshot returns the processors and views sorted by name.
func (m *GokaMonitor) snapshot() ([]*goka.Processor, []*goka.View) {
	m.mu.Lock()
	defer m.mu.Unlock()
	procs := make([]*goka.Processor, 0, len(m.processors))
	for _, name := range sortedKeys(m.processors) {
		procs = append(procs, m.processors[name])
	}
	views := make([]*goka.View, 0, len(m.views))
	for _, name := range sortedKeys(m.views) {
		views = append(views, m.views[name])
	}
	return procs, views
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ServeHTTP serves the index on /goka/ and the monitor under
// /goka/monitor/. goka's monitor keeps an append-only list and indexes it
// without a bound check (an index one past the end panics), so every
// request gets a monitor built from the current set, and indices out of
// range are answered 404 here.
func (m *GokaMonitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	procs, views := m.snapshot()
	base := strings.TrimSuffix(GokaPath, "/")
	if rest, ok := strings.CutPrefix(r.URL.Path, base+"/monitor/"); ok {
		parts := strings.Split(strings.Trim(rest, "/"), "/")
		if len(parts) >= 2 {
			idx, err := strconv.Atoi(parts[len(parts)-1])
			kind := parts[len(parts)-2]
			n := -1
			switch kind {
			case "processor":
				n = len(procs)
			case "view":
				n = len(views)
			}
			if err != nil || n < 0 || idx < 0 || idx >= n {
				http.NotFound(w, r)
				return
			}
		}
	}
	router := mux.NewRouter()
	mon := monitor.NewServer(base+"/monitor", router)
	for _, p := range procs {
		mon.AttachProcessor(p)
	}
	for _, v := range views {
		mon.AttachView(v)
	}
	idx := index.NewServer(base, router)
	idx.AddComponent(mon, "Monitor")
	router.ServeHTTP(w, r)
}

// HandleGoka mounts m on GokaPath.
func (s *Server) HandleGoka(m *GokaMonitor) {
	s.Handle(GokaPath, m)
}
