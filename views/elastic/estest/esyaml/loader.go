package esyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"

	"gopkg.in/yaml.v3"
)

// File is one parsed YAML test file.
type File struct {
	// Name is the file's path relative to its suite root, e.g.
	// "bulk/10_basic.yml".
	Name string
	// Requires is the top-level "requires" document of Elasticsearch
	// client tests ({stack: true, serverless: true}), or nil.
	Requires map[string]any
	// Setup runs before, and Teardown after, every section.
	Setup, Teardown []Step
	// SetupSkip is a skip declared as the first step of setup; it applies
	// to every section of the file.
	SetupSkip *Skip
	Sections  []*Section
}

// Section is one named test of a file.
type Section struct {
	Name string
	Line int
	// Skip is the section's leading skip or requires step, or nil.
	Skip  *Skip
	Steps []Step
}

// Skip is a "skip" (or section-level "requires") step.
type Skip struct {
	// Version is a range list such as " - 2.11.99" or "all".
	Version string
	// Features lists runner features the section needs.
	Features []string
	// ClusterFeatures lists Elasticsearch cluster features the section
	// needs or must not have; the runner cannot evaluate them.
	ClusterFeatures []string
	// Unsupported names other skip conditions (os, awaits_fix,
	// known_issues) that make the runner skip the section.
	Unsupported []string
	Reason      string
}

// Step is one entry of a setup, teardown or section list.
type Step struct {
	Line int
	// Op is the step's key: "do", "match", "set", "is_true", "is_false",
	// "length", "gt", "gte", "lt", "lte", or another (unsupported) name.
	Op string
	// Do is set for "do" steps.
	Do *Do
	// Path is the field path of is_true and is_false.
	Path string
	// Checks maps field paths to expected values (match, length, gt, ...)
	// or, for set, to stash names. Keys are evaluated in sorted order.
	Checks map[string]any
}

// Do is the request part of a "do" step.
type Do struct {
	API string
	// Args are the API arguments: URL parts, query parameters, body and
	// the client-side "ignore".
	Args                     map[string]any
	Catch                    string
	Headers                  map[string]string
	Warnings, AllowedWarning []string
	// Unsupported lists do-level keys the runner does not implement.
	Unsupported []string
}

// LoadFile reads and parses the YAML test file name of fsys. rel is the
// name recorded in File.Name.
func LoadFile(fsys fs.FS, name, rel string) (*File, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read test %q: %w", name, err)
	}
	f, err := ParseFile(b, rel)
	if err != nil {
		return nil, fmt.Errorf("parse test %q: %w", name, err)
	}
	return f, nil
}

// ParseFile parses the bytes of a YAML test file named rel.
func ParseFile(b []byte, rel string) (*File, error) {
	f := &File{Name: rel}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue // an empty document, e.g. a leading "---"
		}
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if err := f.addDoc(m.Content[i], m.Content[i+1]); err != nil {
				return nil, fmt.Errorf("line %d: %w", m.Content[i].Line, err)
			}
		}
	}
	return f, nil
}

func (f *File) addDoc(key, val *yaml.Node) error {
	switch key.Value {
	case "requires":
		v, err := nodeValue(val)
		if err != nil {
			return err
		}
		r, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("requires: want a map, got %T", v)
		}
		f.Requires = r
		return nil
	case "setup", "teardown":
		skip, steps, err := parseSteps(val)
		if err != nil {
			return fmt.Errorf("%s: %w", key.Value, err)
		}
		if key.Value == "setup" {
			f.Setup, f.SetupSkip = steps, skip
		} else {
			f.Teardown = steps
		}
		return nil
	}
	skip, steps, err := parseSteps(val)
	if err != nil {
		return fmt.Errorf("section %q: %w", key.Value, err)
	}
	f.Sections = append(f.Sections, &Section{Name: key.Value, Line: key.Line, Skip: skip, Steps: steps})
	return nil
}

// parseSteps parses a step list; leading skip and requires steps are merged
// into the returned Skip.
func parseSteps(n *yaml.Node) (*Skip, []Step, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("want a list of steps, got YAML kind %d", n.Kind)
	}
	var skip *Skip
	var steps []Step
	for _, sn := range n.Content {
		if sn.Kind != yaml.MappingNode || len(sn.Content) != 2 {
			return nil, nil, fmt.Errorf("line %d: a step must be a map with one key", sn.Line)
		}
		op, body := sn.Content[0].Value, sn.Content[1]
		v, err := nodeValue(body)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", sn.Line, err)
		}
		if (op == "skip" || op == "requires") && len(steps) == 0 {
			if skip == nil {
				skip = &Skip{}
			}
			skip.merge(op, v)
			continue
		}
		st, err := newStep(sn.Line, op, v)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", sn.Line, err)
		}
		steps = append(steps, st)
	}
	return skip, steps, nil
}

func (s *Skip) merge(op string, v any) {
	m, _ := v.(map[string]any)
	for k, val := range m {
		switch k {
		case "version":
			s.Version = fmt.Sprint(val)
		case "features", "test_runner_features":
			s.Features = append(s.Features, stringList(val)...)
		case "cluster_features":
			s.ClusterFeatures = append(s.ClusterFeatures, stringList(val)...)
		case "reason":
			s.Reason = fmt.Sprint(val)
		default:
			s.Unsupported = append(s.Unsupported, op+"."+k)
		}
	}
	sort.Strings(s.Unsupported)
}

func newStep(line int, op string, v any) (Step, error) {
	st := Step{Line: line, Op: op}
	switch op {
	case "do":
		m, ok := v.(map[string]any)
		if !ok {
			return st, fmt.Errorf("do: want a map, got %T", v)
		}
		d, err := newDo(m)
		st.Do = d
		return st, err
	case "is_true", "is_false":
		if v == nil {
			v = ""
		}
		st.Path = fmt.Sprint(v)
		return st, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return st, fmt.Errorf("%s: want a map, got %T", op, v)
	}
	st.Checks = m
	return st, nil
}

func newDo(m map[string]any) (*Do, error) {
	d := &Do{}
	for k, v := range m {
		switch k {
		case "catch":
			d.Catch = fmt.Sprint(v)
		case "headers":
			hm, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("do.headers: want a map, got %T", v)
			}
			d.Headers = map[string]string{}
			for hk, hv := range hm {
				d.Headers[hk] = fmt.Sprint(hv)
			}
		case "warnings":
			d.Warnings = stringList(v)
		case "allowed_warnings":
			d.AllowedWarning = stringList(v)
		case "node_selector", "warnings_regex", "allowed_warnings_regex":
			d.Unsupported = append(d.Unsupported, "do."+k)
		default:
			if d.API != "" {
				return nil, fmt.Errorf("do: two APIs, %q and %q", d.API, k)
			}
			d.API = k
			args, ok := v.(map[string]any)
			if v != nil && !ok {
				return nil, fmt.Errorf("do.%s: want a map of arguments, got %T", k, v)
			}
			d.Args = args
		}
	}
	if d.API == "" {
		return nil, errors.New("do: no API named")
	}
	sort.Strings(d.Unsupported)
	return d, nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	default:
		return []string{fmt.Sprint(x)}
	}
}

// nodeValue converts a YAML node into plain Go values: nil, bool, int64,
// float64, string, []any and map[string]any. Integer scalars stay integers
// and quoted scalars stay strings, so "1" and 1 differ as they do in JSON.
func nodeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		err := n.Decode(&f)
		return f, err
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return n.Value, nil
		}
		return f, nil
	}
	// Strings, timestamps and binary stay as written.
	return n.Value, nil
}
