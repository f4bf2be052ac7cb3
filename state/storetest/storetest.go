// Package storetest is a contract suite for goka storages: the behaviour goka
// and sourced rely on, checked the same way against any implementation.
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, dir string) storage.Storage {
//			st, err := builder(dir)("table", 0)
//			if err != nil {
//				t.Fatal(err)
//			}
//			if err := st.Open(); err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lovoo/goka/storage"
)

// Run runs the contract suite, one subtest per property, each in its own
// t.TempDir. open must build and open a storage persisted in dir; opening
// the same dir again after Close must find the data written before. The
// suite closes every storage it opens exactly once. Run does not call
// t.Parallel.
func Run(t *testing.T, open func(t *testing.T, dir string) storage.Storage) {
	t.Helper()
	for _, tc := range contract {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, &harness{open: open, dir: t.TempDir()})
		})
	}
}

// harness opens storages and closes each once, at the latest in Cleanup.
type harness struct {
	open func(t *testing.T, dir string) storage.Storage
	dir  string
}

// store opens the storage in the harness dir and returns it with a close
// function, which is also registered with t.Cleanup.
func (h *harness) store(t *testing.T) (storage.Storage, func()) {
	t.Helper()
	st := h.open(t, h.dir)
	var once sync.Once
	closeFn := func() {
		t.Helper()
		once.Do(func() {
			if err := st.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(closeFn)
	return st, closeFn
}

type kv struct{ Key, Value string }

var contract = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"a set value is returned by Get and Has", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		must(t, st.Set("a", []byte("1")))
		wantGet(t, st, "a", "1")
		wantHas(t, st, "a", true)
	}},
	{"a missing key gets nil and no error", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		v, err := st.Get("missing")
		if err != nil || v != nil {
			t.Fatalf("Get(missing) = %q, %v; want nil, nil", v, err)
		}
		wantHas(t, st, "missing", false)
	}},
	{"set overwrites", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		must(t, st.Set("a", []byte("1")))
		must(t, st.Set("a", []byte("22")))
		wantGet(t, st, "a", "22")
	}},
	{"delete removes a key and deleting a missing key is no error", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		must(t, st.Set("a", []byte("1")))
		must(t, st.Delete("a"))
		must(t, st.Delete("never-set"))
		wantMissing(t, st, "a")
		must(t, st.Set("a", []byte("again")))
		wantGet(t, st, "a", "again")
	}},
	{"the caller may reuse the buffer passed to Set", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		buf := []byte("first")
		must(t, st.Set("a", buf))
		copy(buf, "XXXXX")
		must(t, st.Set("b", buf))
		wantGet(t, st, "a", "first")
		wantGet(t, st, "b", "XXXXX")
	}},
	{"the caller owns the slice returned by Get", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		must(t, st.Set("a", []byte("value")))
		v, err := st.Get("a")
		must(t, err)
		copy(v, "XXXXX")
		wantGet(t, st, "a", "value")
	}},
	{"GetOffset returns the default until an offset is set", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		wantOffset(t, st, -3, -3)
		must(t, st.SetOffset(7))
		wantOffset(t, st, -3, 7)
		must(t, st.SetOffset(9))
		wantOffset(t, st, -3, 9)
	}},
	{"MarkRecovered keeps values and offset", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		must(t, st.Set("a", []byte("1")))
		must(t, st.SetOffset(10))
		must(t, st.MarkRecovered())
		wantGet(t, st, "a", "1")
		wantOffset(t, st, -1, 10)
		must(t, st.Set("b", []byte("2")))
		must(t, st.SetOffset(11))
		wantGet(t, st, "b", "2")
		wantOffset(t, st, -1, 11)
	}},
	{"values and offset survive close and reopen", func(t *testing.T, h *harness) {
		st, closeFn := h.store(t)
		must(t, st.Set("a", []byte("1")))
		must(t, st.Set("b", []byte("2")))
		must(t, st.Delete("b"))
		must(t, st.SetOffset(41))
		must(t, st.MarkRecovered())
		must(t, st.Set("c", []byte("3")))
		must(t, st.SetOffset(42))
		closeFn()

		st, _ = h.store(t)
		wantGet(t, st, "a", "1")
		wantMissing(t, st, "b")
		wantGet(t, st, "c", "3")
		wantOffset(t, st, -1, 42)
	}},
	{"Iterator returns every key in order without the offset key", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		for _, k := range []string{"c", "a", "b", "__offsez", "__offset0"} {
			must(t, st.Set(k, []byte("v-"+k)))
		}
		must(t, st.SetOffset(5))
		must(t, st.MarkRecovered())
		must(t, st.Set("d", []byte("v-d"))) // after recovery, before the iterator
		must(t, st.SetOffset(6))
		it, err := st.Iterator()
		must(t, err)
		want := []kv{{"__offset0", "v-__offset0"}, {"__offsez", "v-__offsez"}, {"a", "v-a"}, {"b", "v-b"}, {"c", "v-c"}, {"d", "v-d"}}
		wantIter(t, it, want)
	}},
	{"IteratorWithRange iterates over [start, limit)", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		for _, k := range []string{"a", "b", "c", "d"} {
			must(t, st.Set(k, []byte("v-"+k)))
		}
		must(t, st.SetOffset(1))
		must(t, st.MarkRecovered())
		it, err := st.IteratorWithRange([]byte("b"), []byte("d"))
		must(t, err)
		wantIter(t, it, []kv{{"b", "v-b"}, {"c", "v-c"}})
	}},
	{"IteratorWithRange without limit iterates over a prefix", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		for _, k := range []string{"a", "ab", "ab1", "ab2", "ac", "b"} {
			must(t, st.Set(k, []byte("v-"+k)))
		}
		must(t, st.MarkRecovered())
		it, err := st.IteratorWithRange([]byte("ab"), nil)
		must(t, err)
		wantIter(t, it, []kv{{"ab", "v-ab"}, {"ab1", "v-ab1"}, {"ab2", "v-ab2"}})
	}},
	{"Seek positions the iterator at the first key not below the target", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		for _, k := range []string{"a", "c", "e"} {
			must(t, st.Set(k, []byte("v-"+k)))
		}
		must(t, st.MarkRecovered())
		it, err := st.Iterator()
		must(t, err)
		defer it.Release()
		if !it.Seek([]byte("b")) {
			t.Fatal("Seek(b) = false, want true")
		}
		if got := string(it.Key()); got != "c" {
			t.Fatalf("after Seek(b), Key() = %q, want c", got)
		}
		if !it.Next() || string(it.Key()) != "e" {
			t.Fatalf("after Seek(b), Next() is at %q, want e", it.Key())
		}
		if it.Seek([]byte("f")) {
			t.Fatal("Seek(f) = true, want false")
		}
	}},
	{"concurrent readers see only whole values while one writer writes", func(t *testing.T, h *harness) {
		st, _ := h.store(t)
		const keys, rounds, readers = 50, 40, 4
		var wg sync.WaitGroup
		done := make(chan struct{})
		errs := make(chan error, readers)
		for r := range readers {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					if r == 0 && i%50 == 0 {
						if err := iterateWhole(st); err != nil {
							errs <- err
							return
						}
						continue
					}
					k := fmt.Sprintf("k%02d", i%keys)
					v, err := st.Get(k)
					if err == nil {
						err = checkValue(k, v)
					}
					if err != nil {
						errs <- err
						return
					}
					if _, err := st.GetOffset(-1); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		buf := make([]byte, 0, 64)
		var writeErr error
	write:
		for round := range rounds {
			for i := range keys {
				k := fmt.Sprintf("k%02d", i)
				buf = fmt.Appendf(buf[:0], "%s=%d", k, round)
				if writeErr = st.Set(k, buf); writeErr != nil {
					break write
				}
				if writeErr = st.SetOffset(int64(round*keys + i)); writeErr != nil {
					break write
				}
			}
		}
		close(done)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		must(t, writeErr)
		wantGet(t, st, "k00", fmt.Sprintf("k00=%d", rounds-1))
		wantOffset(t, st, -1, rounds*keys-1)
	}},
}

// checkValue reports a value that is not "<key>=<round>".
func checkValue(key string, v []byte) error {
	if v != nil && !bytes.HasPrefix(v, []byte(key+"=")) {
		return fmt.Errorf("Get(%s) = %q: torn or foreign value", key, v)
	}
	return nil
}

func iterateWhole(st storage.Storage) error {
	it, err := st.Iterator()
	if err != nil {
		return fmt.Errorf("Iterator: %w", err)
	}
	defer it.Release()
	prev := ""
	for it.Next() {
		k := string(it.Key())
		if k <= prev {
			return fmt.Errorf("iterator: key %q after %q", k, prev)
		}
		prev = k
		v, err := it.Value()
		if err == nil {
			err = checkValue(k, v)
		}
		if err != nil {
			return err
		}
	}
	return it.Err()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantGet(t *testing.T, st storage.Storage, key, want string) {
	t.Helper()
	v, err := st.Get(key)
	if err != nil || v == nil || string(v) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, v, err, want)
	}
	wantHas(t, st, key, true)
}

func wantMissing(t *testing.T, st storage.Storage, key string) {
	t.Helper()
	v, err := st.Get(key)
	if err != nil || v != nil {
		t.Fatalf("Get(%q) = %q, %v; want nil, nil", key, v, err)
	}
	wantHas(t, st, key, false)
}

func wantHas(t *testing.T, st storage.Storage, key string, want bool) {
	t.Helper()
	has, err := st.Has(key)
	if err != nil || has != want {
		t.Fatalf("Has(%q) = %v, %v; want %v", key, has, err, want)
	}
}

func wantOffset(t *testing.T, st storage.Storage, def, want int64) {
	t.Helper()
	got, err := st.GetOffset(def)
	if err != nil || got != want {
		t.Fatalf("GetOffset(%d) = %d, %v; want %d", def, got, err, want)
	}
}

func wantIter(t *testing.T, it storage.Iterator, want []kv) {
	t.Helper()
	defer it.Release()
	var got []kv
	for it.Next() {
		v, err := it.Value()
		must(t, err)
		got = append(got, kv{string(it.Key()), string(v)})
	}
	must(t, it.Err())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("iterated pairs (-want +got):\n%s", diff)
	}
}
