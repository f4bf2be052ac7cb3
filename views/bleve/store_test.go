package bleve_test

import (
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
