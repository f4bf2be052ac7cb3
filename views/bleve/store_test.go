package bleve_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/b2dc4357/sourced/views"
	"github.com/b2dc4357/sourced/views/bleve"
	"github.com/b2dc4357/sourced/views/viewstest"
)

// openStore opens a store in a fresh directory, closed at the end of the test.
func openStore(t testing.TB, dir string) *bleve.Store {
	t.Helper()
	s, err := bleve.Open(bleve.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	viewstest.Run(t, func(t *testing.T) views.Store { return openStore(t, t.TempDir()) })
}

func TestContractInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("the on-disk store runs the suite under -short")
	}
	viewstest.Run(t, func(t *testing.T) views.Store { return openStore(t, "") })
}

// A reader waiting for a write (the gateway's min_version) is woken by the
// next Bulk that wrote, and not before.
func TestWrittenSignalsTheNextWrite(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := context.Background()
	if err := s.CreateIndex(ctx, "w", views.Mapping{Properties: map[string]views.Field{"n": {Type: views.Long}}}); err != nil {
		t.Fatal(err)
	}
	waiting := s.Written()
	select {
	case <-waiting:
		t.Fatal("Written's channel is closed before any write")
	default:
	}
	if _, err := s.Get(ctx, "w", "a"); err == nil {
		t.Fatal("a missing document was found")
	}
	res, err := s.Bulk(ctx, []views.Op{{Index: "w", ID: "a", Version: 1, Doc: json.RawMessage(`{"n":1}`)}})
	if err != nil || res[0].Outcome != views.Applied {
		t.Fatalf("Bulk: %v %+v", err, res)
	}
	select {
	case <-waiting:
	default:
		t.Fatal("Written's channel is still open after a write")
	}
	if doc, err := s.Get(ctx, "w", "a"); err != nil || doc.Version != 1 {
		t.Fatalf("after the signal, Get = %+v, %v; want version 1", doc, err)
	}
	select {
	case <-s.Written():
		t.Fatal("a new wait is woken by a write that came before it")
	default:
	}
}
