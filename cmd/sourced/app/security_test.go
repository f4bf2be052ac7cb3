package app

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
)

func TestRolesOverSASLSCRAMAndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a secured broker and roles as child processes (~10 s)")
	}
	certs := stacktest.NewCertificates(t, t.TempDir())
	// Every child inherits these; the broker reads the same SASL variables
	// as the clients, and only the clients read SOURCED_TLS_CA.
	const password = "Sup3r-s3cret-Pa55"
	t.Setenv("SOURCED_SASL_MECHANISM", "SCRAM-SHA-512")
	t.Setenv("SOURCED_SASL_USER", "sourced-svc")
	t.Setenv("SOURCED_SASL_PASSWORD", password)
	t.Setenv("SOURCED_TLS_CA", certs.CAFile)

	// The embedded broker (`sourced broker` with SASL and TLS), or on the
	// real stack a dedicated Apache Kafka with a SASL_SSL listener.
	var k testKafka
	var broker *exec.Cmd
	if stacktest.RealKafka() != "" {
		own := stacktest.OwnKafka(t, stack.KafkaOptions{SASLSSL: &stack.SASLSSLListener{
			KeystorePEM: certs.KeystoreFile, Users: map[string]string{"sourced-svc": password}}})
		k = testKafka{brokers: own.SASLSSLAddr(), real: true, own: own}
	} else {
		dataDir := t.TempDir()
		k = testKafka{brokers: freeAddr(t)}
		broker = startProcess(t, k.brokers, "broker", "--data-dir", dataDir, "--listen", k.brokers,
			"--tls-cert", certs.CertFile, "--tls-key", certs.KeyFile)
		waitListening(t, k.brokers)
	}
	listen := k.brokers

	t.Run("a wrong password fails at once with a clear error", func(t *testing.T) {
		const wrong = "wr0ng-Pa55w0rd"
		code, out := runSourced(t, listen, "topics", "ensure", "--partitions", "2", "--sasl-password", wrong)
		if code != 4 || !strings.Contains(out, "authentication failed") || !strings.Contains(out, "SCRAM-SHA-512") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if strings.Contains(out, wrong) {
			t.Fatalf("the output shows the password:\n%s", out)
		}
		code, out = runSourced(t, listen, "run", "processor", "--aggregate", "invoice", "--data-dir", t.TempDir(), "--sasl-password", wrong)
		if code != 1 || !strings.Contains(out, "authentication failed") || strings.Contains(out, wrong) {
			t.Fatalf("run processor with a wrong password: exit %d:\n%s", code, out)
		}
	})
	t.Run("a client without TLS is refused", func(t *testing.T) {
		code, out := runSourced(t, listen, "topics", "ensure", "--partitions", "2", "--tls-ca", "", "--tls=false")
		if code != 4 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	if code, out := runSourced(t, listen, k.ensureArgs(2)...); code != 0 {
		t.Fatalf("topics ensure: exit %d:\n%s", code, out)
	}
	proc := startProcess(t, listen, "run", "processor", "--aggregate", "invoice", "--data-dir", t.TempDir())
	pub := startProcess(t, listen, "run", "publisher", "--aggregate", "invoice", "--data-dir", t.TempDir())
	code, r := send(t, listen, "invoice", "inv-1", "CreateInvoice", `{"customer":"acme","currency":"EUR","due_date":"2026-12-31"}`, "--timeout", "20s")
	if code != 0 || r.Status != codecs.StatusAccepted || r.Version != 1 {
		t.Fatalf("send over SASL_SSL: exit %d, %+v", code, r)
	}
	code, out := runSourced(t, listen, "state", "get", "invoice", "inv-1")
	if code != 0 || !strings.Contains(out, `"customer":"acme"`) {
		t.Fatalf("state get over SASL_SSL: exit %d:\n%s", code, out)
	}
	outputs := []struct {
		name string
		out  string
	}{{"processor", outputOf(proc)}, {"publisher", outputOf(pub)}}
	if broker != nil {
		outputs = append(outputs, struct {
			name string
			out  string
		}{"broker", outputOf(broker)})
	}
	for _, p := range outputs {
		if strings.Contains(p.out, password) {
			t.Errorf("the %s output shows the password:\n%s", p.name, p.out)
		}
	}
}
