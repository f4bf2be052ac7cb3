package stack

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Pinned versions of the real servers. Kafka's log4j2 backend is not among
// its Maven dependencies since 4.0, so the log4j and slf4j bindings are
// fetched beside it.
const (
	KafkaVersion         = "4.1.2"
	ElasticsearchVersion = "8.19.21"
	log4jVersion         = "2.25.3"
	slf4jVersion         = "2.0.17"
)

// completeMarker is written into an artifact directory only after every
// file in it was fetched and verified; a directory without it is partial
// and is fetched again.
const completeMarker = ".complete"

// DefaultCacheDir is where the artifacts are kept across runs: the
// SOURCED_REALSTACK_CACHE environment variable, else ~/.cache/sourced/realstack
// (/var/cache/sourced/realstack for root).
func DefaultCacheDir() string {
	if d := os.Getenv("SOURCED_REALSTACK_CACHE"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		// Elasticsearch runs as nobody, which cannot enter /root.
		return "/var/cache/sourced/realstack"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "sourced", "realstack")
	}
	return filepath.Join(os.TempDir(), "sourced-realstack-cache")
}

// Artifacts locates the fetched servers in a cache directory.
type Artifacts struct {
	// KafkaLibs is the directory holding Kafka's jars and its log4j backend.
	KafkaLibs string
	// ESHome is the unpacked Elasticsearch integ-test distribution.
	ESHome string
	// ESPlugin is the built sourced-analysis plugin (its jar and
	// descriptor), which Fetch installs into ESHome/plugins.
	ESPlugin string
}

// Fetch makes sure both servers are in cacheDir, fetching them with mvn
// from Maven Central when they are missing, partial or corrupt. Every jar
// and the distribution are opened as zip archives to prove them whole.
// It then builds the sourced-analysis plugin (esplugin/) with mvn unless
// a build of the same sources is cached, and installs it into the
// distribution's plugins/ unless it is there already. A second call with
// a complete cache runs no mvn at all.
func Fetch(ctx context.Context, cacheDir string, log io.Writer) (Artifacts, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return Artifacts{}, fmt.Errorf("create cache dir: %w", err)
	}
	// Test packages run in parallel processes, each fetching: one fills
	// the cache while the others wait, then find it complete.
	unlock, err := lockFile(filepath.Join(cacheDir, ".fetch.lock"))
	if err != nil {
		return Artifacts{}, err
	}
	defer unlock()
	a := Artifacts{
		KafkaLibs: filepath.Join(cacheDir, "kafka-"+KafkaVersion, "libs"),
		ESHome:    filepath.Join(cacheDir, "elasticsearch-"+ElasticsearchVersion, "elasticsearch-"+ElasticsearchVersion),
	}
	if err := ensure(ctx, filepath.Dir(a.KafkaLibs), log, verifyKafka, func(dir string) error {
		return fetchKafka(ctx, cacheDir, dir, log)
	}); err != nil {
		return Artifacts{}, fmt.Errorf("kafka %s: %w", KafkaVersion, err)
	}
	if err := ensure(ctx, filepath.Dir(a.ESHome), log, verifyES, func(dir string) error {
		return fetchES(ctx, cacheDir, dir, log)
	}); err != nil {
		return Artifacts{}, fmt.Errorf("elasticsearch %s: %w", ElasticsearchVersion, err)
	}
	if err := checkPluginVersion(); err != nil {
		return Artifacts{}, err
	}
	hash, err := pluginHash()
	if err != nil {
		return Artifacts{}, err
	}
	pluginDir := filepath.Join(cacheDir, "esplugin-"+hash[:16])
	if err := ensure(ctx, pluginDir, log, verifyPlugin, func(dir string) error {
		return buildPlugin(ctx, cacheDir, dir, log)
	}); err != nil {
		return Artifacts{}, fmt.Errorf("%s plugin: %w", PluginName, err)
	}
	a.ESPlugin = filepath.Join(pluginDir, PluginName)
	if installed, err := installPlugin(a.ESPlugin, a.ESHome); err != nil {
		return Artifacts{}, fmt.Errorf("%s plugin: %w", PluginName, err)
	} else if installed {
		fmt.Fprintf(log, "realstack: installed the %s plugin into %s\n", PluginName, filepath.Join(a.ESHome, "plugins"))
	}
	return a, nil
}

// lockFile takes an exclusive flock on path, waiting for other holders.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the cache: %w", err)
	}
	return func() { f.Close() }, nil
}

// ensure fetches into dir unless it is complete and verifies. A failed
// verification wipes dir, and the local Maven repository's copy with it,
// so that the next fetch downloads again.
func ensure(ctx context.Context, dir string, log io.Writer, verify func(string) error, fetch func(string) error) error {
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err == nil {
		if err := verify(dir); err == nil {
			return nil
		} else {
			fmt.Fprintf(log, "realstack: %s is corrupt (%v): fetching it again\n", dir, err)
		}
	}
	for attempt := 1; ; attempt++ {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear %s: %w", dir, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		err := fetch(dir)
		if err == nil {
			err = verify(dir)
		}
		if err == nil {
			return os.WriteFile(filepath.Join(dir, completeMarker), nil, 0o644)
		}
		if attempt == 2 || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(log, "realstack: fetch into %s failed (%v): wiping the local Maven repository and trying again\n", dir, err)
		_ = os.RemoveAll(filepath.Join(filepath.Dir(dir), "m2"))
	}
}

const kafkaPOM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sourced</groupId><artifactId>realstack-kafka</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>%s</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>%s</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>%s</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>%s</version></dependency>
  </dependencies>
</project>
`

func fetchKafka(ctx context.Context, cacheDir, dir string, log io.Writer) error {
	pom := filepath.Join(dir, "pom.xml")
	if err := os.WriteFile(pom, fmt.Appendf(nil, kafkaPOM, KafkaVersion, slf4jVersion, log4jVersion, log4jVersion), 0o644); err != nil {
		return err
	}
	return mvn(ctx, cacheDir, log, "-f", pom, "dependency:copy-dependencies",
		"-DincludeScope=runtime", "-DoutputDirectory="+filepath.Join(dir, "libs"))
}

func fetchES(ctx context.Context, cacheDir, dir string, log io.Writer) error {
	artifact := "org.elasticsearch.distribution.integ-test-zip:elasticsearch:" + ElasticsearchVersion + ":zip"
	if err := mvn(ctx, cacheDir, log, "dependency:copy", "-Dartifact="+artifact, "-DoutputDirectory="+dir); err != nil {
		return err
	}
	zipPath := filepath.Join(dir, "elasticsearch-"+ElasticsearchVersion+".zip")
	if err := unzip(zipPath, dir); err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	return os.Remove(zipPath)
}

// mvn runs Maven in batch mode with a local repository inside the cache,
// so a corrupt download there can be wiped without touching ~/.m2.
func mvn(ctx context.Context, cacheDir string, log io.Writer, args ...string) error {
	args = append([]string{"-B", "-q", "-Dmaven.repo.local=" + filepath.Join(cacheDir, "m2")}, args...)
	cmd := exec.CommandContext(ctx, "mvn", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	fmt.Fprintf(log, "realstack: mvn %s\n", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mvn: %w\n%s", err, tail(out.String(), 30))
	}
	return nil
}

func verifyKafka(dir string) error {
	libs := filepath.Join(dir, "libs")
	jars, err := filepath.Glob(filepath.Join(libs, "*.jar"))
	if err != nil {
		return err
	}
	need := map[string]bool{"kafka_2.13-" + KafkaVersion + ".jar": false, "log4j-core-" + log4jVersion + ".jar": false}
	for _, j := range jars {
		if err := verifyZip(j); err != nil {
			return err
		}
		if _, ok := need[filepath.Base(j)]; ok {
			need[filepath.Base(j)] = true
		}
	}
	for name, found := range need {
		if !found {
			return fmt.Errorf("%s missing from %s", name, libs)
		}
	}
	return nil
}

func verifyES(dir string) error {
	home := filepath.Join(dir, "elasticsearch-"+ElasticsearchVersion)
	for _, p := range []string{"bin/elasticsearch", "config/jvm.options", "lib/elasticsearch-" + ElasticsearchVersion + ".jar"} {
		if _, err := os.Stat(filepath.Join(home, p)); err != nil {
			return err
		}
	}
	jars, err := filepath.Glob(filepath.Join(home, "lib", "*.jar"))
	if err != nil {
		return err
	}
	for _, j := range jars {
		if err := verifyZip(j); err != nil {
			return err
		}
	}
	return nil
}

// verifyZip opens a jar or zip and reads its central directory: a
// truncated download fails here.
func verifyZip(path string) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	if len(r.File) == 0 {
		return fmt.Errorf("%s: empty archive", path)
	}
	return nil
}

func unzip(src, dst string) error {
	r, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, f := range r.File {
		target := filepath.Join(dst, f.Name)
		if !strings.HasPrefix(target, filepath.Clean(dst)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q escapes the archive", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := extract(f, target); err != nil {
			return err
		}
	}
	return nil
}

func extract(f *zip.File, target string) error {
	in, err := f.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	mode := f.Mode().Perm() | 0o444
	if strings.Contains(f.Name, "/bin/") || strings.HasSuffix(f.Name, ".so") {
		mode |= 0o555
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Close())
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
