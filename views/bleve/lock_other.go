//go:build !unix

package bleve

import (
	"os"
	"path/filepath"
)

// lockDir creates dir/LOCK; without flock, this platform does not stop a
// second process from opening the same directory.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
}
