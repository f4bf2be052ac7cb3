package generations

import (
	"fmt"
	"testing"
)

// A Map stays within its budget however many keys go through it, keeps
// the most recent half of the budget at least, and moves an old entry it
// is asked for back to the current generation.
func TestMapKeepsTheRecentWithinItsBudget(t *testing.T) {
	m := New(10, func(int) int { return 1 })
	if m.Len() != 0 {
		t.Fatal("a new Map holds entries")
	}
	for i := range 1000 {
		m.Put(fmt.Sprint(i), i)
		if m.Len() > 11 {
			t.Fatalf("after %d puts: %d entries, budget 10", i+1, m.Len())
		}
	}
	for i := 995; i < 1000; i++ {
		if e, ok := m.Get(fmt.Sprint(i)); !ok || e != i {
			t.Fatalf("key %d of the last five: %d, %t", i, e, ok)
		}
	}
	if _, ok := m.Get("0"); ok {
		t.Fatal("the first key survived 1,000 puts")
	}
	// An entry of the old generation, asked for, survives the next turn.
	m = New(4, func(int) int { return 1 })
	m.Put("a", 1)
	m.Put("b", 2)
	m.Put("c", 3) // a, b, c become old
	m.Get("a")
	m.Put("d", 4)
	m.Put("e", 5) // a, d, e old; b and c dropped
	if _, ok := m.Get("a"); !ok {
		t.Fatal("an entry asked for was dropped with its generation")
	}
	if _, ok := m.Get("b"); ok {
		t.Fatal("an entry not asked for outlived two turns")
	}
	if e, ok := m.Take("a"); !ok || e != 1 {
		t.Fatalf("Take: %d, %t", e, ok)
	}
	m.Drop("e")
	if _, ok := m.Get("a"); ok {
		t.Fatal("a taken entry is still there")
	}
	if _, ok := m.Get("e"); ok {
		t.Fatal("a dropped entry is still there")
	}
}

// Entries cost their size: a large one turns the generation sooner.
func TestMapCountsEntriesBySize(t *testing.T) {
	m := New(100, func(s string) int { return len(s) })
	m.Put("small", "x")
	m.Put("big", string(make([]byte, 60))) // current holds 61 > 50: turns
	m.Put("next", "y")
	m.Put("big2", string(make([]byte, 60))) // turns again: small and big dropped
	if _, ok := m.Get("small"); ok {
		t.Fatal("entries outlived a budget their sizes exceed")
	}
	if _, ok := m.Get("next"); !ok {
		t.Fatal("the previous generation was dropped too soon")
	}
}
