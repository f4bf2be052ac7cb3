package app

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/b2dc4357/sourced/cmd/sourced/telemetry/telemetrytest"
	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
	"github.com/b2dc4357/sourced/views/elastic/estest"
)

// TestSecretsStayOutOfOutputAndPages runs every long-running role the way
// the deployment does (Kafka over SASL_SSL with SCRAM, Elasticsearch over
// HTTPS with basic auth, the gateway with a bearer token, every secret
// read from a file named by a SOURCED_*_FILE variable, debug logging on),
// uses them, makes them fail with wrong secrets, and searches everything
// they printed and every page they served (/metrics, /healthz, /readyz,
// /goka/...) for the secrets.
func TestSecretsStayOutOfOutputAndPages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a secured broker, four roles and tools as child processes (~30 s)")
	}
	const (
		kafkaPassword = "Kafka-S3cret-7d1f0a9c"
		esUser        = "sourced-es"
		esPassword    = "Es-S3cret-4b8e2c6a"
		token         = "Gw-T0ken-91c3e5a7b2d4f608"
		wrongToken    = "Gw-Wr0ng-T0ken-5e7a9c1b3d"
		wrongKafka    = "Kafka-Wr0ng-3a5c7e9b"
		wrongES       = "Es-Wr0ng-8c6a4e2b"
	)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(esUser+":"+esPassword))
	secrets := []string{kafkaPassword, esPassword, token, wrongToken, wrongKafka, wrongES,
		strings.TrimPrefix(basic, "Basic "), base64.StdEncoding.EncodeToString([]byte(esUser + ":" + wrongES))}

	dir := t.TempDir()
	writeFile := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	certs := stacktest.NewCertificates(t, t.TempDir())

	// Elasticsearch over HTTPS, refusing requests without the password.
	es := estest.New(estest.Options{})
	esSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != basic {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"type":"security_exception","reason":"unable to authenticate user"},"status":401}`)
			return
		}
		es.ServeHTTP(w, r)
	}))
	defer esSrv.Close()
	esCA := writeFile("es-ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: esSrv.Certificate().Raw})))

	// Kafka: the embedded broker (a `sourced broker` child below), or on
	// the real stack a dedicated Apache Kafka with a SASL_SSL listener.
	// Elasticsearch stays the estest server above behind HTTPS and basic
	// auth on both.
	var own *stack.Kafka
	listen := freeAddr(t)
	if stacktest.RealKafka() != "" {
		own = stacktest.OwnKafka(t, stack.KafkaOptions{SASLSSL: &stack.SASLSSLListener{
			KeystorePEM: certs.KeystoreFile, Users: map[string]string{"sourced-svc": kafkaPassword}}})
		listen = own.SASLSSLAddr()
	}
	env := []string{
		"SOURCED_BROKERS=" + listen,
		"SOURCED_LOG_LEVEL=debug",
		"SOURCED_SASL_MECHANISM=SCRAM-SHA-512",
		"SOURCED_SASL_USER=sourced-svc",
		"SOURCED_SASL_PASSWORD_FILE=" + writeFile("sasl-password", kafkaPassword+"\n"),
		"SOURCED_TLS_CA=" + certs.CAFile,
		"SOURCED_ES_URL=" + esSrv.URL,
		"SOURCED_ES_USERNAME=" + esUser,
		"SOURCED_ES_PASSWORD_FILE=" + writeFile("es-password", esPassword),
		"SOURCED_ES_CA=" + esCA,
	}
	var outputs []*safeBuffer
	start := func(extraEnv []string, args ...string) *exec.Cmd {
		t.Helper()
		cmd, out := startChild(t, append(append([]string{}, env...), extraEnv...), args...)
		outputs = append(outputs, out)
		return cmd
	}
	runTool := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		sb := &safeBuffer{}
		_, _ = sb.Write(out)
		outputs = append(outputs, sb)
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}

	// The broker takes its password from SOURCED_SASL_PASSWORD (it has no
	// file flag); the roles from the file.
	ensure := []string{"topics", "ensure", "--partitions", "2"}
	if own == nil {
		start([]string{"SOURCED_SASL_PASSWORD=" + kafkaPassword}, "broker", "--data-dir", t.TempDir(), "--listen", listen,
			"--tls-cert", certs.CertFile, "--tls-key", certs.KeyFile)
		waitListening(t, listen)
		ensure = append(ensure, "--no-compaction")
	}
	if code, out := runTool(ensure...); code != 0 {
		t.Fatalf("topics ensure: exit %d\n%s", code, out)
	}

	tokens := writeFile("tokens", token+" write\n")
	roles := map[string][]string{
		"processor": {"run", "processor", "--aggregate", "invoice", "--data-dir", t.TempDir()},
		"publisher": {"run", "publisher", "--aggregate", "invoice", "--data-dir", t.TempDir()},
		"view":      {"run", "view", "--view", "invoice-search", "--data-dir", t.TempDir()},
		"gateway":   {"run", "gateway", "--data-dir", t.TempDir(), "--tokens-file", tokens, "--max-body", "65536"},
	}
	bases := map[string]string{}
	procs := map[string]*exec.Cmd{}
	for name, args := range roles {
		addr := freeAddr(t)
		bases[name] = "http://" + addr
		procs[name] = start(nil, append(args, "--http", addr)...)
	}
	for name, base := range bases {
		eventually(t, 90*time.Second, func() string {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return fmt.Sprintf("%s: %v", name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Sprintf("%s /readyz: %s", name, resp.Status)
			}
			return ""
		})
	}

	// Use them: a command through the gateway, read back through the view
	// in Elasticsearch; refused with a wrong token.
	gw := api{t: t, base: bases["gateway"], token: token}
	if r := gw.post("/v1/invoice/sec-1/CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`); r.status != 200 || r.str("status") != "accepted" {
		t.Fatalf("create through the gateway: %d %s", r.status, r.raw)
	}
	if r := gw.get("/v1/views/invoice-search/sec-1?min_version=1"); r.status != 200 {
		t.Fatalf("read the view (Elasticsearch over HTTPS with basic auth): %d %s", r.status, r.raw)
	}
	bad := api{t: t, base: bases["gateway"], token: wrongToken}
	if r := bad.post("/v1/invoice/sec-2/CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`); r.status != 401 {
		t.Fatalf("a wrong token: %d %s, want 401", r.status, r.raw)
	}
	if r := gw.post("/v1/invoice/sec-3/CreateInvoice", `{"customer":"`+strings.Repeat("x", 70000)+`"}`); r.status != 413 {
		t.Fatalf("a body over --max-body: %d, want 413", r.status)
	}

	// Everything they serve.
	var pages strings.Builder
	href := regexp.MustCompile(`(?:href|src)="(/goka/[^"#?]*)"`)
	for name, base := range bases {
		seen := map[string]bool{}
		queue := []string{"/metrics", "/healthz", "/readyz", "/goka/", "/goka/monitor/",
			"/goka/monitor/processor/0", "/goka/monitor/data/processor/0", "/goka/monitor/view/0", "/goka/monitor/data/view/0"}
		for len(queue) > 0 && len(seen) < 40 {
			path := queue[0]
			queue = queue[1:]
			if seen[path] {
				continue
			}
			seen[path] = true
			code, body := telemetrytest.Get(t, base+path)
			fmt.Fprintf(&pages, "== %s %s %d\n%s\n", name, path, code, body)
			for _, m := range href.FindAllStringSubmatch(body, -1) {
				queue = append(queue, m[1])
			}
		}
		if code, body := telemetrytest.Get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "sourced_") {
			t.Errorf("%s /metrics: %d", name, code)
		}
	}
	if !strings.Contains(pages.String(), "invoice-commands") {
		t.Errorf("the /goka/ pages show no topics; the search below would prove little")
	}

	// Wrong secrets fail clearly, without echoing them.
	if code, out := runTool("topics", "ensure", "--partitions", "2", "--sasl-password", wrongKafka, "--sasl-password-file", ""); code != 4 || !strings.Contains(out, "authentication failed") {
		t.Errorf("topics ensure with a wrong Kafka password: exit %d\n%s", code, out)
	}
	if code, out := runTool("view", "rebuild", "invoice-search", "--es-password", wrongES, "--es-password-file", ""); code == 0 || !strings.Contains(out, "401") && !strings.Contains(strings.ToLower(out), "authenticat") {
		t.Errorf("view rebuild with a wrong Elasticsearch password: exit %d\n%s", code, out)
	}

	// A clean stop, so shutdown messages are searched too.
	for name, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
		if err := p.Wait(); err != nil {
			t.Errorf("%s did not stop cleanly: %v", name, err)
		}
	}
	var all strings.Builder
	for _, o := range outputs {
		all.WriteString(o.String())
	}
	all.WriteString(pages.String())
	if all.Len() < 10000 {
		t.Fatalf("only %d bytes of output and pages to search", all.Len())
	}
	for _, s := range secrets {
		if i := strings.Index(all.String(), s); i >= 0 {
			from, to := max(0, i-300), min(all.Len(), i+len(s)+100)
			t.Errorf("secret %q appears in the output or pages:\n...%s...", s, all.String()[from:to])
		}
	}
	t.Logf("searched %d bytes of output and served pages for %d secrets", all.Len(), len(secrets))
}
