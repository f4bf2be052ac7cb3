package state

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"github.com/b2dc4357/sourced/codecs"
)

// StoreInfo describes a partition store found by List.
type StoreInfo struct {
	Topic     string
	Partition int32
	Path      string
	// Clean reports whether the clean marker is present: the store was
	// closed cleanly and will be reused, not wiped, at its next open.
	Clean bool
	// Changelog is the changelog ID recorded in the store, "" if none.
	Changelog string
	// Offset is goka's stored changelog offset, -1 if none is stored.
	Offset int64
	// Keys counts the keys, goka's offset key and fences excluded.
	Keys int
	// Fences counts the owners' fence records kept in a table's store
	// (codecs.IsFence).
	Fences int
}

// List describes the partition stores in the data dir dir (a Config.Dir),
// sorted by topic and partition. Entries that are not directories named
// <topic>.<partition> are skipped; the topic may itself contain dots.
//
// List opens each store read-only and changes nothing, markers included, so
// it is safe on the data dir of a stopped replica. It fails on a store that
// a running process holds open (LevelDB's lock).
func List(dir string) ([]StoreInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list stores in %q: %w", dir, err)
	}
	var infos []StoreInfo
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		topic, partition, ok := parseStoreName(e.Name())
		if !ok {
			continue
		}
		info, err := describe(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		info.Topic, info.Partition = topic, partition
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b StoreInfo) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return infos, nil
}

func describe(path string) (StoreInfo, error) {
	info := StoreInfo{Path: path, Offset: -1}
	var err error
	if info.Clean, err = exists(filepath.Join(path, markerFile)); err != nil {
		return info, fmt.Errorf("inspect store %q: %w", path, err)
	}
	if info.Changelog, err = readStamp(path); err != nil {
		return info, fmt.Errorf("inspect store %q: %w", path, err)
	}
	// A directory LevelDB never got to initialize (a crash at first open)
	// holds no data; opening it read-only would fail.
	if ok, err := exists(filepath.Join(path, levelDBCurrent)); err != nil || !ok {
		return info, err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return info, err
	}
	defer db.Close()
	it := db.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})
	defer it.Release()
	for it.Next() {
		if string(it.Key()) != offsetKey {
			if codecs.IsFence(string(it.Key())) {
				info.Fences++
			} else {
				info.Keys++
			}
			continue
		}
		if info.Offset, err = strconv.ParseInt(string(it.Value()), 10, 64); err != nil {
			return info, fmt.Errorf("inspect store %q: decode offset %q: %w", path, it.Value(), err)
		}
	}
	if err := it.Error(); err != nil {
		return info, fmt.Errorf("inspect store %q: %w", path, err)
	}
	return info, nil
}

// Read calls fn for every key of the store in path (a directory listed by
// List), in key order, skipping goka's offset key. value is only valid
// during the call. Read stops at the first error of fn and returns it as is.
// Like List, it opens the store read-only and changes nothing.
func Read(path string, fn func(key string, value []byte) error) error {
	db, err := openReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	it := db.NewIterator(nil, &opt.ReadOptions{DontFillCache: true})
	defer it.Release()
	for it.Next() {
		if string(it.Key()) == offsetKey {
			continue
		}
		if err := fn(string(it.Key()), it.Value()); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("read store %q: %w", path, err)
	}
	return nil
}

// Get returns the value of key in the store in path, owned by the caller,
// or an error wrapping ErrNotFound. Like List, it opens the store read-only
// and changes nothing.
func Get(path, key string) ([]byte, error) {
	db, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	v, err := db.Get([]byte(key), nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, fmt.Errorf("get %q from store %q: %w", key, path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %q from store %q: %w", key, path, err)
	}
	return v, nil
}

func openReadOnly(path string) (*leveldb.DB, error) {
	db, err := leveldb.OpenFile(path, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		return nil, fmt.Errorf("open store %q read-only: %w", path, err)
	}
	return db, nil
}
