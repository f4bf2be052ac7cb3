package state

import (
	"fmt"
	"os"
	"path/filepath"

	lstorage "github.com/syndtr/goleveldb/leveldb/storage"
)

// unsyncedMeta is goleveldb's file storage with a SetMeta that does not
// fsync. opt.NoSync stops LevelDB's own fsyncs (tables, manifest, journal),
// not those of its file storage, which writes and fsyncs a backup of
// CURRENT, the new CURRENT and the directory at every open and at every
// new manifest: four of the five fsyncs a store's open cost, eight stores
// opened at once waiting on each other's. A store owes no durability
// between clean closes (a dirty one is wiped), and its Close syncs every
// file before the clean marker, so they bought nothing.
type unsyncedMeta struct {
	lstorage.Storage
	dir string
}

// SetMeta points CURRENT at the manifest fd, as goleveldb's file storage
// does (write CURRENT.<num>, rename it over CURRENT; its GetMeta also
// reads a CURRENT.<num> left by a crash between the two), without the
// fsyncs and the backup.
func (u unsyncedMeta) SetMeta(fd lstorage.FileDesc) error {
	if fd.Type != lstorage.TypeManifest {
		return fmt.Errorf("state: set meta of %s: %w", fd, lstorage.ErrInvalidFile)
	}
	current := filepath.Join(u.dir, "CURRENT")
	pending := fmt.Sprintf("%s.%d", current, fd.Num)
	content := fmt.Sprintf("MANIFEST-%06d\n", fd.Num)
	if err := os.WriteFile(pending, []byte(content), 0o644); err != nil {
		return fmt.Errorf("state: write %s: %w", pending, err)
	}
	if err := os.Rename(pending, current); err != nil {
		return fmt.Errorf("state: rename %s: %w", pending, err)
	}
	return nil
}
