package state

import (
	"testing"

	"github.com/lovoo/goka/storage"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/b2dc4357/sourced/state/storetest"
)

func TestContract(t *testing.T) {
	t.Run("state store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, dir string) storage.Storage {
			return openStore(t, Config{Dir: dir}, "table", 0)
		})
	})
	t.Run("state store flushing every write", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, dir string) storage.Storage {
			return openStore(t, Config{Dir: dir, FlushBytes: 1}, "table", 0)
		})
	})
	t.Run("goka leveldb storage", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, dir string) storage.Storage {
			t.Helper()
			st, err := storage.BuilderWithOptions(dir, &opt.Options{})("table", 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Open(); err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
}

// openStore builds and opens one partition store of a new Builder.
func openStore(t testing.TB, cfg Config, topic string, partition int32) storage.Storage {
	t.Helper()
	b, err := NewBuilder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return openBuilt(t, b, topic, partition)
}

// openBuilt builds and opens one partition store of b.
func openBuilt(t testing.TB, b *Builder, topic string, partition int32) storage.Storage {
	t.Helper()
	st, err := b.Build(topic, partition)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(); err != nil {
		t.Fatal(err)
	}
	return st
}
