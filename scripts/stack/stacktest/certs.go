package stacktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Certificates is a throw-away CA and a server certificate it signed for
// 127.0.0.1, localhost and kafka.test, written as PEM files: for TLS
// tests of Kafka (its PEM keystore), Elasticsearch and the stand-ins.
type Certificates struct {
	// CAFile is the CA certificate clients trust.
	CAFile string
	// CertFile and KeyFile are the server certificate and its key
	// (unencrypted PKCS#8).
	CertFile, KeyFile string
	// KeystoreFile holds the server's key (unencrypted PKCS#8) followed by
	// its certificate chain: an Apache Kafka PEM keystore.
	KeystoreFile string
}

// NewCertificates creates the certificates in dir; they are valid for an
// hour.
func NewCertificates(t testing.TB, dir string) Certificates {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sourced test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey := newKey(t)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kafka.test"},
		DNSNames:    []string{"kafka.test", "localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	c := Certificates{
		CAFile:       filepath.Join(dir, "ca.pem"),
		CertFile:     filepath.Join(dir, "server.pem"),
		KeyFile:      filepath.Join(dir, "server-key.pem"),
		KeystoreFile: filepath.Join(dir, "server-keystore.pem"),
	}
	writePEM(t, c.CAFile, "CERTIFICATE", caDER)
	writePEM(t, c.CertFile, "CERTIFICATE", srvDER)
	writePEM(t, c.KeyFile, "PRIVATE KEY", pkcs8)
	keystore := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})...)
	keystore = append(keystore, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(c.KeystoreFile, keystore, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// ServerTLS returns a TLS server configuration with the server certificate.
func (c Certificates) ServerTLS() *tls.Config {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		panic("stacktest: load the certificate just written: " + err.Error())
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
