package esyaml

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

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

// validate checks that e has a reason and names an existing file and
// section of one of suites.
func (e Entry) validate(suites []*Suite) error {
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

// SuiteSource says where a suite's files are, relative to the plan files.
type SuiteSource struct {
	Name    string `yaml:"name"`
	Tests   string `yaml:"tests"`
	Specs   string `yaml:"specs"`
	Version string `yaml:"version"`
}

// Plan is a conformance plan: the suites to run, the sections that are
// run but only reported (out of scope), and the sections not run at all
// (skipped). Every other section is in scope and must pass.
type Plan struct {
	Suites     []*Suite
	OutOfScope []Entry
	Skip       []Entry
}

// LoadPlan reads a scope file ({suites: [...], out_of_scope: [...]}) and a
// skip file (a list of entries) from fsys, loads the suites they name, and
// checks that every entry has a reason and names an existing section.
func LoadPlan(fsys fs.FS, scopeFile, skipFile string) (*Plan, error) {
	var scope struct {
		Suites     []SuiteSource `yaml:"suites"`
		OutOfScope []Entry       `yaml:"out_of_scope"`
	}
	if err := readYAML(fsys, scopeFile, &scope); err != nil {
		return nil, err
	}
	p := &Plan{OutOfScope: scope.OutOfScope}
	if err := readYAML(fsys, skipFile, &p.Skip); err != nil {
		return nil, err
	}
	dir := path.Dir(scopeFile)
	for _, src := range scope.Suites {
		s, err := LoadSuite(fsys, src.Name, src.Version, path.Join(dir, src.Tests), path.Join(dir, src.Specs))
		if err != nil {
			return nil, err
		}
		p.Suites = append(p.Suites, s)
	}
	var errs []error
	for _, e := range append(append([]Entry(nil), p.OutOfScope...), p.Skip...) {
		if err := e.validate(p.Suites); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("load plan: %w", err)
	}
	return p, nil
}

func readYAML(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("read %q: %w", name, err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %q: %w", name, err)
	}
	return nil
}

// SkipEntry returns the skip entry naming the section, if any.
func (p *Plan) SkipEntry(suite, file, section string) (Entry, bool) {
	return find(p.Skip, suite, file, section)
}

// InScope reports whether the section must pass: it is neither out of
// scope nor skipped by the plan.
func (p *Plan) InScope(suite, file, section string) bool {
	_, out := find(p.OutOfScope, suite, file, section)
	_, skip := find(p.Skip, suite, file, section)
	return !out && !skip
}

func find(entries []Entry, suite, file, section string) (Entry, bool) {
	for _, e := range entries {
		if e.Matches(suite, file, section) {
			return e, true
		}
	}
	return Entry{}, false
}
