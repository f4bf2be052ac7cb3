package app

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPprofIsOffByDefault(t *testing.T) {
	for _, on := range []bool{false, true} {
		o, err := newOps("127.0.0.1:0", nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		o.servePprof(on)
		for path, want := range map[string]int{"/debug/pprof/": http.StatusOK, "/debug/pprof/heap": http.StatusOK, "/debug/pprof/goroutine?debug=1": http.StatusOK} {
			if !on {
				want = http.StatusNotFound
			}
			rec := httptest.NewRecorder()
			o.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want {
				t.Errorf("--pprof=%v: GET %s answered %d, want %d", on, path, rec.Code, want)
			}
		}
	}
}
