package state

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// BenchmarkSet measures what a goka processor does per table write: Set of a
// ~300-byte value, then SetOffset, over 10,000 keys, in processing mode
// (after MarkRecovered). The time includes the final flush. The state store
// flushes on another goroutine: run with -cpu 1 to charge that work too.
func BenchmarkSet(b *testing.B) {
	const keys, size = 10_000, 300
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("invoice-%08d", i)
	}
	stores := []struct {
		name string
		open func(b *testing.B) storage.Storage
	}{
		{"state", func(b *testing.B) storage.Storage {
			return openStore(b, Config{Dir: b.TempDir()}, "invoice-table", 0)
		}},
		{"goka", func(b *testing.B) storage.Storage {
			// The options state uses by default, for a like-for-like comparison.
			o := &opt.Options{BlockCacheCapacity: 8 << 20, WriteBuffer: 4 << 20, Compression: opt.SnappyCompression}
			st, err := storage.BuilderWithOptions(b.TempDir(), o)("invoice-table", 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := st.Open(); err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			st := s.open(b)
			if err := st.MarkRecovered(); err != nil {
				b.Fatal(err)
			}
			value := make([]byte, size)
			for i := range value {
				value[i] = byte('a' + i%26)
			}
			b.ReportAllocs()
			b.SetBytes(size)
			b.ResetTimer()
			for i := range b.N {
				// goka's codecs hand over a fresh buffer; reusing one here
				// also shows the store copies what it keeps.
				strconv.AppendInt(value[:0], int64(i), 10)
				if err := st.Set(names[i%keys], value); err != nil {
					b.Fatal(err)
				}
				if err := st.SetOffset(int64(i)); err != nil {
					b.Fatal(err)
				}
			}
			if fl, ok := st.(*store); ok {
				// goka's storage wrote through already (and panics on a
				// second MarkRecovered).
				if err := fl.flush(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkReopenClean measures what a clean restart of a processor costs
// the state package: opening eight stores closed cleanly (12,500 keys of
// ~600 bytes each, 100,000 in all, as BenchmarkRestartToReady's replica
// holds), concurrently as goka opens its partitions, reading each one's
// stored offset, and closing them cleanly again.
func BenchmarkReopenClean(b *testing.B) {
	const partitions, keys, size = 8, 12_500, 600
	dir := b.TempDir()
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	cycle := func(fill bool) {
		bld, err := NewBuilder(Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		errs := make(chan error, partitions)
		for p := range partitions {
			go func() {
				errs <- func() error {
					st, err := bld.Build("invoice-table", int32(p))
					if err != nil {
						return err
					}
					if err := st.Open(); err != nil {
						return err
					}
					if _, err := st.GetOffset(-1); err != nil {
						return err
					}
					if fill {
						for i := range keys {
							if err := st.Set(fmt.Sprintf("inv-%d-%06d", p, i), value); err != nil {
								return err
							}
						}
						if err := st.SetOffset(keys - 1); err != nil {
							return err
						}
					}
					if err := st.MarkRecovered(); err != nil {
						return err
					}
					return st.Close()
				}()
			}()
		}
		for range partitions {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	cycle(true)
	b.ResetTimer()
	for range b.N {
		cycle(false)
	}
}
