package esyaml

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// Suite is one corpus of test files that share API specs and the version
// their skip ranges are evaluated against.
type Suite struct {
	// Name identifies the suite in skip and scope files and in reports.
	Name string
	// Version is the server version skip.version ranges are compared to:
	// the OpenSearch tests target OpenSearch 3.6.0 whatever server runs them.
	Version Version
	Specs   Specs
	// Files are sorted by name.
	Files []*File
}

// LoadSuite loads the API specs in specDir and every *.yml file below
// testDir of fsys. Directories whose names start with '_' hold other
// corpora and are not descended. File names are relative to testDir.
func LoadSuite(fsys fs.FS, name, version, testDir, specDir string) (*Suite, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return nil, fmt.Errorf("load suite %s: %w", name, err)
	}
	specs, err := LoadSpecs(fsys, specDir)
	if err != nil {
		return nil, fmt.Errorf("load suite %s: %w", name, err)
	}
	s := &Suite{Name: name, Version: v, Specs: specs}
	err = fs.WalkDir(fsys, testDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != testDir && strings.HasPrefix(d.Name(), "_") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, testDir), "/")
		f, err := LoadFile(fsys, p, rel)
		if err != nil {
			return err
		}
		s.Files = append(s.Files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load suite %s: %w", name, err)
	}
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Name < s.Files[j].Name })
	return s, nil
}

// File returns the file named rel, or nil.
func (s *Suite) File(rel string) *File {
	for _, f := range s.Files {
		if f.Name == rel {
			return f
		}
	}
	return nil
}

// Section returns the section named name, or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SectionCount returns the number of sections across all files.
func (s *Suite) SectionCount() int {
	n := 0
	for _, f := range s.Files {
		n += len(f.Sections)
	}
	return n
}
