package esyaml_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusManifest checks the copied upstream corpus against its
// MANIFEST.sha256: every listed file is unchanged and every file is listed
// (except the README and the manifest itself).
func TestCorpusManifest(t *testing.T) {
	root := filepath.Join("testdata", "es-rest-yaml")
	mf, err := os.Open(filepath.Join(root, "MANIFEST.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(mf)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad manifest line %q", sc.Text())
		}
		listed[name] = true
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, manifest says %s", name, got, sum)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	err = fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "README.md" || p == "MANIFEST.sha256" {
			return err
		}
		if !listed[p] {
			t.Errorf("%s is not in MANIFEST.sha256", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 132 {
		t.Errorf("manifest lists %d files, want 132", len(listed))
	}
}
