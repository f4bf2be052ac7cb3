package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files kept in a partition store directory beside the LevelDB files. LevelDB
// ignores (and never deletes) files whose names it does not recognise.
const (
	// markerFile exists only while the store is closed and was closed
	// cleanly by an untainted process.
	markerFile = "CLEAN"
	// stampFile holds the changelog ID the store was restored from.
	stampFile = "CHANGELOG"
	// offsetKey is goka's key for the changelog offset, stored as a decimal
	// string (see goka's storage package).
	offsetKey = "__offset"
	// levelDBCurrent exists once LevelDB has created a database in a dir.
	levelDBCurrent = "CURRENT"
)

// storeName returns the directory name of a partition store, as goka's own
// LevelDB builders name it.
func storeName(topic string, partition int32) string {
	return topic + "." + strconv.FormatInt(int64(partition), 10)
}

// parseStoreName splits a store directory name at its last dot, so topics
// with dots ("a.b-table.3") parse. ok is false for names that are not stores.
func parseStoreName(name string) (topic string, partition int32, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return "", 0, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, false
	}
	return name[:i], int32(p), true
}

// exists reports whether path exists. Errors other than "not exist" are
// returned, so a permission problem is never mistaken for a missing marker.
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// syncDir fsyncs a directory, making creations, renames and removals of its
// entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %q: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %q: %w", dir, err)
	}
	return nil
}

// writeFileSync atomically replaces dir/name with data: it writes and fsyncs a
// temporary file, renames it, and fsyncs dir.
func writeFileSync(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp-state"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %q: %w", path, err)
	}
	return syncDir(dir)
}

// removeSync removes dir/name if it exists and fsyncs dir.
func removeSync(dir, name string) error {
	path := filepath.Join(dir, name)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove %q: %w", path, err)
	}
	return syncDir(dir)
}

// writeMarker marks the closed store in dir clean.
func writeMarker(dir string) error {
	return writeFileSync(dir, markerFile, []byte("clean\n"))
}

// readStamp returns the changelog ID recorded in dir, or "" if none is.
func readStamp(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, stampFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read changelog stamp: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// wipeDir removes the store in dir and everything in it, durably.
func wipeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("wipe store %q: %w", dir, err)
	}
	return syncDir(filepath.Dir(dir))
}

// syncFiles fsyncs every regular file in dir, then dir itself: a closed
// store's LevelDB files, written without fsyncs, before its clean marker.
func syncFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("sync store files: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("sync store files: %w", err)
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("sync store files: %w", err)
		}
	}
	return syncDir(dir)
}
