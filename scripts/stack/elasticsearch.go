package stack

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// unprivilegedID is the uid and gid Elasticsearch runs as when the caller
// is root (Elasticsearch refuses to run as root): nobody/nogroup.
const unprivilegedID = 65534

// ESOptions configures one single-node Elasticsearch.
type ESOptions struct {
	// Dir holds the node's config, data and logs.
	Dir string
	// JavaHome is the JDK to run (ES_JAVA_HOME); empty means JAVA_HOME or
	// the java on PATH.
	JavaHome string
	// HeapMB is the JVM heap; 0 means 512.
	HeapMB int
	// Security turns on security with HTTPS: the node serves CertPEM and
	// KeyPEM, and Users (name → password, role superuser) are file-realm
	// users. Without it the node is plain HTTP with security off.
	Security *ESSecurity
	// Config adds or overrides elasticsearch.yml entries.
	Config map[string]string
}

// ESSecurity is the HTTPS and file-realm setup of a secured node.
type ESSecurity struct {
	// CertPEM and KeyPEM are the paths of the PEM files of the node's
	// HTTP certificate and its private key (PKCS#8 or PKCS#1).
	CertPEM, KeyPEM string
	// UserHashes maps user names to hashes of their passwords in a format
	// of the file realm's "users" file: bcrypt, or PasswordHash's PBKDF2.
	UserHashes map[string]string
}

// PasswordHash hashes password for ESSecurity.UserHashes in
// Elasticsearch's PBKDF2 format ("{PBKDF2}<iterations>$<salt>$<hash>",
// HMAC-SHA512, 10,000 iterations, 32-byte salt and key), which the file
// realm verifies whatever xpack.security.authc.password_hashing.algorithm
// says. It needs only the standard library (bcrypt would need x/crypto).
func PasswordHash(password string) (string, error) {
	const iterations = 10000
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha512.New, password, salt, iterations, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("{PBKDF2}%d$%s$%s", iterations, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(key)), nil
}

// Elasticsearch is a running (or stopped) single-node Elasticsearch.
type Elasticsearch struct {
	opts   ESOptions
	home   string
	port   int
	tport  int
	proc   *process
	client *http.Client
}

// NewElasticsearch prepares a node in opts.Dir on free loopback ports;
// Start runs it. The node loads the sourced-analysis plugin (a.ESPlugin),
// installed into the distribution if Fetch's copy has gone.
func NewElasticsearch(a Artifacts, opts ESOptions) (*Elasticsearch, error) {
	if opts.HeapMB == 0 {
		opts.HeapMB = 512
	}
	if a.ESPlugin != "" {
		if _, err := installPlugin(a.ESPlugin, a.ESHome); err != nil {
			return nil, fmt.Errorf("%s plugin: %w", PluginName, err)
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	e := &Elasticsearch{opts: opts, home: a.ESHome, port: ports[0], tport: ports[1], client: &http.Client{Timeout: 5 * time.Second}}
	if err := e.configure(); err != nil {
		return nil, fmt.Errorf("configure elasticsearch: %w", err)
	}
	return e, nil
}

// URL is the node's HTTP(S) address.
func (e *Elasticsearch) URL() string {
	scheme := "http"
	if e.opts.Security != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, e.port)
}

// LogPath is the file the node's console output goes to.
func (e *Elasticsearch) LogPath() string { return filepath.Join(e.opts.Dir, "elasticsearch.log") }

// PID is the running node's process id (the launcher's), 0 when stopped.
func (e *Elasticsearch) PID() int {
	if e.proc == nil {
		return 0
	}
	return e.proc.pid()
}

// RSSKB is the resident memory of the node's JVM in KiB (the launcher
// process's child, where the server runs).
func (e *Elasticsearch) RSSKB() int {
	total := rssKB(e.PID())
	for _, child := range children(e.PID()) {
		total += rssKB(child)
	}
	return total
}

func (e *Elasticsearch) configure() error {
	conf := filepath.Join(e.opts.Dir, "config")
	for _, d := range []string{conf, filepath.Join(e.opts.Dir, "data"), filepath.Join(e.opts.Dir, "logs"), filepath.Join(e.opts.Dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The distribution's config dir, minus elasticsearch.yml, which we write.
	src := filepath.Join(e.home, "config")
	if err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(conf, rel), 0o755)
		}
		if rel == "elasticsearch.yml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(conf, rel), b, 0o644)
	}); err != nil {
		return err
	}
	settings := map[string]string{
		"cluster.name":                     "sourced-test",
		"node.name":                        "node-1",
		"path.data":                        filepath.Join(e.opts.Dir, "data"),
		"path.logs":                        filepath.Join(e.opts.Dir, "logs"),
		"network.host":                     "127.0.0.1",
		"http.port":                        fmt.Sprint(e.port),
		"transport.port":                   fmt.Sprint(e.tport),
		"discovery.type":                   "single-node",
		"action.destructive_requires_name": "false",
		"cluster.routing.allocation.disk.threshold_enabled": "false",
		"xpack.security.enabled":                            "false",
	}
	if s := e.opts.Security; s != nil {
		settings["xpack.security.enabled"] = "true"
		settings["xpack.security.http.ssl.enabled"] = "true"
		settings["xpack.security.http.ssl.certificate"] = "http.crt"
		settings["xpack.security.http.ssl.key"] = "http.key"
		settings["xpack.security.authc.api_key.enabled"] = "true"
		for name, from := range map[string]string{"http.crt": s.CertPEM, "http.key": s.KeyPEM} {
			b, err := os.ReadFile(from)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(conf, name), b, 0o600); err != nil {
				return err
			}
		}
		var users, roles strings.Builder
		names := slices.Sorted(maps.Keys(s.UserHashes))
		for _, u := range names {
			fmt.Fprintf(&users, "%s:%s\n", u, s.UserHashes[u])
		}
		fmt.Fprintf(&roles, "superuser:%s\n", strings.Join(names, ","))
		if err := os.WriteFile(filepath.Join(conf, "users"), []byte(users.String()), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(conf, "users_roles"), []byte(roles.String()), 0o600); err != nil {
			return err
		}
	}
	maps.Copy(settings, e.opts.Config)
	var yml strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&yml, "%s: %q\n", k, settings[k])
	}
	if err := os.WriteFile(filepath.Join(conf, "elasticsearch.yml"), []byte(yml.String()), 0o644); err != nil {
		return err
	}
	heap := fmt.Sprintf("-Xms%dm\n-Xmx%dm\n", e.opts.HeapMB, e.opts.HeapMB)
	if err := os.WriteFile(filepath.Join(conf, "jvm.options.d", "heap.options"), []byte(heap), 0o644); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return chownTree(e.opts.Dir, unprivilegedID)
	}
	return nil
}

func chownTree(dir string, id int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, id, id)
	})
}

// Start runs the node and returns once its cluster health is at least
// yellow, or fails with the tail of its log.
func (e *Elasticsearch) Start(ctx context.Context) error {
	home, err := javaHome(e.opts.JavaHome)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(e.home, "bin", "elasticsearch"))
	cmd.Dir = e.opts.Dir
	cmd.Env = append(os.Environ(),
		"ES_JAVA_HOME="+home,
		"ES_PATH_CONF="+filepath.Join(e.opts.Dir, "config"),
		"ES_TMPDIR="+filepath.Join(e.opts.Dir, "tmp"),
		"ES_JAVA_OPTS=",
	)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivilegedID, Gid: unprivilegedID}}
		cmd.Env = append(cmd.Env, "HOME="+e.opts.Dir)
	}
	if e.opts.Security != nil {
		pool := x509.NewCertPool()
		if b, err := os.ReadFile(e.opts.Security.CertPEM); err == nil {
			pool.AppendCertsFromPEM(b)
		}
		e.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	p, err := spawn(cmd, e.LogPath())
	if err != nil {
		return err
	}
	e.proc = p
	return p.waitReady(ctx, "elasticsearch", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL()+"/_cluster/health?wait_for_status=yellow&timeout=2s", nil)
		resp, err := e.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		// A secured node answers 401 to an anonymous health check once it is up.
		if resp.StatusCode == http.StatusOK || (e.opts.Security != nil && resp.StatusCode == http.StatusUnauthorized) {
			return nil
		}
		return fmt.Errorf("health: %s", resp.Status)
	})
}

// Kill ends the node with SIGKILL (its whole process group).
func (e *Elasticsearch) Kill() {
	if e.proc != nil {
		_ = syscall.Kill(-e.proc.pid(), syscall.SIGKILL)
		<-e.proc.exited
	}
}

// Stop shuts the node down (SIGTERM to its process group), killing it
// after 30 s.
func (e *Elasticsearch) Stop() {
	if e.proc != nil {
		_ = StopPID(e.proc.pid(), 30*time.Second)
		<-e.proc.exited
	}
}

// WriteInfo describes the node for a human: URL, PID, log.
func (e *Elasticsearch) WriteInfo(w io.Writer) {
	fmt.Fprintf(w, "elasticsearch %s pid %d on %s (log %s)\n", ElasticsearchVersion, e.PID(), e.URL(), e.LogPath())
}

// children lists the descendants of pid, found by their parent PIDs in /proc.
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		var child int
		if _, err := fmt.Sscan(e.Name(), &child); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The parent PID is the second field after the command in parentheses.
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		var st string
		var ppid int
		if _, err := fmt.Sscan(rest, &st, &ppid); err == nil && ppid == pid {
			out = append(out, child)
			out = append(out, children(child)...)
		}
	}
	return out
}
