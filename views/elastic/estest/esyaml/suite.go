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

// Entry names one section (or, with Section "*", every section of a file)
// of a suite, with the reason it is listed.
type Entry struct {
	Suite   string `yaml:"suite"`
	File    string `yaml:"file"`
	Section string `yaml:"section"`
	Reason  string `yaml:"reason"`
}

// Matches reports whether e names section sec of file f in suite suite.
func (e Entry) Matches(suite, f, sec string) bool {
	return e.Suite == suite && e.File == f && (e.Section == "*" || e.Section == sec)
}

// Validate checks that e has a reason and names an existing file and
// section of one of suites.
func (e Entry) Validate(suites []*Suite) error {
	if strings.TrimSpace(e.Reason) == "" {
		return fmt.Errorf("%s/%s %q: no reason", e.Suite, e.File, e.Section)
	}
	for _, s := range suites {
		if s.Name != e.Suite {
			continue
		}
		f := s.File(e.File)
		if f == nil {
			return fmt.Errorf("%s: no file %q", e.Suite, e.File)
		}
		if e.Section != "*" && f.Section(e.Section) == nil {
			return fmt.Errorf("%s/%s: no section %q", e.Suite, e.File, e.Section)
		}
		return nil
	}
	return fmt.Errorf("no suite %q", e.Suite)
}
