package bleve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/b2dc4357/sourced/views"
)

// metaFile is the name of the store's metadata file in Config.Dir.
const metaFile = "meta.json"

// meta is the content of the metadata file: the source of truth for which
// indices exist, with their mappings, and for the aliases. An index
// directory not listed here is left over from an interrupted create or
// delete and is removed at Open.
type meta struct {
	// Format is the file's format version.
	Format int `json:"format"`
	// Indices maps each concrete index to its mapping.
	Indices map[string]views.Mapping `json:"indices"`
	// Aliases maps each alias to its indices and whether each is the
	// alias's explicit write index.
	Aliases map[string]map[string]bool `json:"aliases"`
}

const metaFormat = 1

// readMeta reads the metadata file of dir; a missing file gives empty
// metadata (a new store).
func readMeta(dir string) (meta, error) {
	m := meta{Format: metaFormat, Indices: map[string]views.Mapping{}, Aliases: map[string]map[string]bool{}}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode %s: %w", metaFile, err)
	}
	if m.Format != metaFormat {
		return m, fmt.Errorf("%s has format %d, want %d", metaFile, m.Format, metaFormat)
	}
	if m.Indices == nil {
		m.Indices = map[string]views.Mapping{}
	}
	if m.Aliases == nil {
		m.Aliases = map[string]map[string]bool{}
	}
	return m, nil
}

// writeMeta replaces the metadata file of dir atomically and durably: it
// writes a temporary file, syncs it, renames it over the old one and syncs
// the directory, so a crash leaves either the old or the new metadata.
func writeMeta(dir string, m meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, metaFile+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, metaFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
