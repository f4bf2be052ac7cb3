package esyaml

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// commonParams are the query parameters every API accepts. OpenSearch ships
// them in api/_common.json; the Elasticsearch 8 specification folder does
// not, so they are always added.
var commonParams = []string{"pretty", "human", "error_trace", "source", "filter_path"}

// API is one endpoint of the rest-api-spec, e.g. "indices.put_alias".
type API struct {
	// Name is the dotted API name used by "do" steps.
	Name string
	// Paths lists the URL templates in spec order.
	Paths []Path
	// Params holds the names of the accepted query parameters, including
	// the common ones.
	Params map[string]bool
	// ContentType is the request body type: "application/x-ndjson" for bulk
	// style APIs, "application/json" otherwise.
	ContentType string
	// BodyRequired reports whether the spec marks the body as required.
	BodyRequired bool
}

// Path is one URL template of an API, such as "/{index}/_doc/{id}".
type Path struct {
	Template string
	Methods  []string
	// Parts lists the names of the {placeholders} in Template.
	Parts []string
}

// Specs maps API names to their definitions.
type Specs map[string]*API

// NDJSON reports whether the API sends newline-delimited JSON bodies.
func (a *API) NDJSON() bool { return a.ContentType == "application/x-ndjson" }

// IsPart reports whether name is a URL part of any of the API's paths.
func (a *API) IsPart(name string) bool {
	for _, p := range a.Paths {
		for _, part := range p.Parts {
			if part == name {
				return true
			}
		}
	}
	return false
}

// specFile mirrors the JSON layout of one rest-api-spec file.
type specFile struct {
	Headers struct {
		ContentType []string `json:"content_type"`
	} `json:"headers"`
	URL struct {
		Paths []struct {
			Path    string                     `json:"path"`
			Methods []string                   `json:"methods"`
			Parts   map[string]json.RawMessage `json:"parts"`
		} `json:"paths"`
	} `json:"url"`
	Params map[string]json.RawMessage `json:"params"`
	Body   *struct {
		Required  bool   `json:"required"`
		Serialize string `json:"serialize"`
	} `json:"body"`
}

// LoadSpecs reads every *.json file in dir of fsys. A file named
// _common.json contributes parameters accepted by every API. It returns an
// error naming the file when a spec cannot be parsed.
func LoadSpecs(fsys fs.FS, dir string) (Specs, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read spec dir %q: %w", dir, err)
	}
	common := append([]string(nil), commonParams...)
	specs := Specs{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read spec %q: %w", name, err)
		}
		if name == "_common.json" {
			var c struct {
				Params map[string]json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(b, &c); err != nil {
				return nil, fmt.Errorf("parse spec %q: %w", name, err)
			}
			for p := range c.Params {
				common = append(common, p)
			}
			continue
		}
		var raw map[string]specFile
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("parse spec %q: %w", name, err)
		}
		for apiName, sf := range raw {
			specs[apiName] = newAPI(apiName, sf)
		}
	}
	for _, a := range specs {
		for _, p := range common {
			a.Params[p] = true
		}
	}
	return specs, nil
}

func newAPI(name string, sf specFile) *API {
	a := &API{Name: name, Params: map[string]bool{}, ContentType: "application/json"}
	for _, p := range sf.URL.Paths {
		parts := make([]string, 0, len(p.Parts))
		for part := range p.Parts {
			parts = append(parts, part)
		}
		sort.Strings(parts)
		a.Paths = append(a.Paths, Path{Template: p.Path, Methods: p.Methods, Parts: parts})
	}
	for p := range sf.Params {
		a.Params[p] = true
	}
	if len(sf.Headers.ContentType) > 0 {
		a.ContentType = sf.Headers.ContentType[0]
	}
	if sf.Body != nil {
		a.BodyRequired = sf.Body.Required
		if sf.Body.Serialize == "bulk" {
			a.ContentType = "application/x-ndjson"
		}
	}
	return a
}
