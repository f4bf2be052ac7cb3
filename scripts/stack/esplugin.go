package stack

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The sourced-analysis Elasticsearch plugin (esplugin/): the analysis
// components of analysis-common that the .security system index needs
// (the pattern_capture and unique filters, the uax_url_email tokenizer).
// The integ-test distribution has no analysis-common, and without them
// the index cannot be created, so no API keys and no native users. Fetch
// builds the plugin with mvn into the cache, in a directory named by the
// hash of its sources (changed sources build anew), and installs it into
// the distribution's plugins/, where every node loads it.
//
//go:embed esplugin/pom.xml esplugin/plugin-descriptor.properties esplugin/src
var pluginSources embed.FS

const (
	// PluginName is the plugin's name and its directory under plugins/.
	PluginName = "sourced-analysis"
	pluginJar  = PluginName + ".jar"
	pluginDesc = "plugin-descriptor.properties"
)

// pluginHash is the SHA-256 of the plugin's sources, names and contents.
func pluginHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(pluginSources, "esplugin", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := pluginSources.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// checkPluginVersion fails unless the plugin's descriptor names the
// pinned Elasticsearch version (a node refuses a plugin built for another).
func checkPluginVersion() error {
	b, err := pluginSources.ReadFile("esplugin/" + pluginDesc)
	if err != nil {
		return err
	}
	props := readProperties(b)
	if v := props["elasticsearch.version"]; v != ElasticsearchVersion {
		return fmt.Errorf("esplugin/%s says elasticsearch.version=%s, want %s", pluginDesc, v, ElasticsearchVersion)
	}
	if props["name"] != PluginName {
		return fmt.Errorf("esplugin/%s says name=%s, want %s", pluginDesc, props["name"], PluginName)
	}
	return nil
}

// readProperties parses the key=value lines of a Java properties file
// (no continuations or escapes: the descriptor has none).
func readProperties(b []byte) map[string]string {
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return props
}

// buildPlugin writes the sources into dir/src, packages them with mvn
// against Elasticsearch's jars from Maven Central (provided scope), and
// puts the jar and the descriptor into dir/sourced-analysis.
func buildPlugin(ctx context.Context, cacheDir, dir string, log io.Writer) error {
	src := filepath.Join(dir, "src")
	if err := fs.WalkDir(pluginSources, "esplugin", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(src, strings.TrimPrefix(p, "esplugin"))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := pluginSources.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}); err != nil {
		return err
	}
	if err := mvn(ctx, cacheDir, log, "-f", filepath.Join(src, "pom.xml"), "package"); err != nil {
		return err
	}
	out := filepath.Join(dir, PluginName)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for from, to := range map[string]string{
		filepath.Join(src, "target", pluginJar): filepath.Join(out, pluginJar),
		filepath.Join(src, pluginDesc):          filepath.Join(out, pluginDesc),
	} {
		if err := copyFile(from, to); err != nil {
			return err
		}
	}
	return nil
}

// verifyPlugin checks a built plugin: a whole jar holding the descriptor's
// class, and the descriptor of the pinned version.
func verifyPlugin(dir string) error {
	out := filepath.Join(dir, PluginName)
	desc, err := os.ReadFile(filepath.Join(out, pluginDesc))
	if err != nil {
		return err
	}
	props := readProperties(desc)
	if props["elasticsearch.version"] != ElasticsearchVersion {
		return fmt.Errorf("%s: elasticsearch.version=%s, want %s", pluginDesc, props["elasticsearch.version"], ElasticsearchVersion)
	}
	jar := filepath.Join(out, pluginJar)
	if err := verifyZip(jar); err != nil {
		return err
	}
	class := strings.ReplaceAll(props["classname"], ".", "/") + ".class"
	if found, err := zipHas(jar, class); err != nil || !found {
		return errors.Join(err, fmt.Errorf("%s lacks %s", jar, class))
	}
	return nil
}

// installPlugin puts the built plugin (built, the dir holding the jar and
// the descriptor) into esHome/plugins/sourced-analysis unless the same
// files are there already. The new copy is staged beside esHome and
// renamed into place, so a node starting meanwhile sees the old plugin or
// the new one, never a half-copied one (it fails on a stray directory in
// plugins/, so nothing is staged there). It reports whether it installed.
func installPlugin(built, esHome string) (bool, error) {
	target := filepath.Join(esHome, "plugins", PluginName)
	if sameFiles(built, target) {
		return false, nil
	}
	stage, err := os.MkdirTemp(filepath.Dir(esHome), ".plugin-staging-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(stage)
	next := filepath.Join(stage, "new")
	if err := os.Mkdir(next, 0o755); err != nil {
		return false, err
	}
	for _, f := range []string{pluginJar, pluginDesc} {
		if err := copyFile(filepath.Join(built, f), filepath.Join(next, f)); err != nil {
			return false, err
		}
	}
	if _, err := os.Stat(target); err == nil {
		if err := os.Rename(target, filepath.Join(stage, "old")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("move the old plugin aside: %w", err)
		}
	}
	if err := os.Rename(next, target); err != nil {
		// Another process installing at the same time may have won.
		if sameFiles(built, target) {
			return false, nil
		}
		return false, fmt.Errorf("install plugin into %s: %w", target, err)
	}
	return true, nil
}

// sameFiles reports whether dir b holds exactly the plugin files of dir a,
// with the same contents.
func sameFiles(a, b string) bool {
	entries, err := os.ReadDir(b)
	if err != nil || len(entries) != 2 {
		return false
	}
	for _, f := range []string{pluginJar, pluginDesc} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// zipHas reports whether the archive at path has an entry called name.
func zipHas(path, name string) (bool, error) {
	r, err := zip.OpenReader(path)
	if err != nil {
		return false, err
	}
	defer r.Close()
	for _, f := range r.File {
		if f.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
