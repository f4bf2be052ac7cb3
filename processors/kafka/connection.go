package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms a Connection supports.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Connection says how to reach and authenticate to Kafka. The same value
// configures both Kafka clients sourced uses: sarama (under goka) and
// franz-go (admin, send, tail), so they cannot drift apart.
type Connection struct {
	// Brokers are the bootstrap addresses. Required.
	Brokers []string
	// ClientID names the client in broker logs and quotas. Default: "sourced".
	ClientID string
	// SASL authenticates the connection when Mechanism is set.
	SASL SASL
	// TLS encrypts the connection when Enabled is set.
	TLS TLS
	// Dial, when set, opens the clients' connections instead of the
	// network: the embedded broker's in-process connections (see
	// broker.Broker.Dial), which `sourced dev` gives every role. It is not
	// used with TLS, which the clients apply only to connections they open
	// themselves.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// SASL holds SASL credentials.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	Mechanism string
	// User is the SASL user name.
	User string
	// Password is the SASL password. It never appears in String or errors.
	Password string
}

// TLS holds TLS settings.
type TLS struct {
	// Enabled turns TLS on; the other fields refine it.
	Enabled bool
	// CAFile is a PEM file of CAs to trust instead of the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key (mutual TLS).
	CertFile, KeyFile string
	// ServerName overrides the name verified in the broker certificate.
	ServerName string
	// InsecureSkipVerify disables certificate verification (tests only).
	InsecureSkipVerify bool
}

// Validate reports every problem of the connection settings, joined.
func (c Connection) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: none given"))
	}
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.User != "" {
			errs = append(errs, errors.New("sasl: a user is given but no mechanism"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASL.User == "" {
			errs = append(errs, fmt.Errorf("sasl %s: user missing", c.SASL.Mechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("sasl: unknown mechanism %q (want %s, %s or %s)",
			c.SASL.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: a client certificate needs both a cert file and a key file"))
	}
	return errors.Join(errs...)
}

// String describes the connection without secrets, for logs.
func (c Connection) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(c.Brokers, ","))
	if c.TLS.Enabled {
		b.WriteString(" tls")
	}
	if c.SASL.Mechanism != "" {
		fmt.Fprintf(&b, " sasl=%s user=%s", c.SASL.Mechanism, c.SASL.User)
	}
	return b.String()
}

// TLSConfig builds the TLS client configuration; nil when TLS is off.
func (c Connection) TLSConfig() (*tls.Config, error) {
	if !c.TLS.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.TLS.ServerName,
		InsecureSkipVerify: c.TLS.InsecureSkipVerify, //nolint:gosec // an explicit, documented test option
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: CA file %s holds no PEM certificate", c.TLS.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Apply sets the connection's client id, TLS and SASL on a sarama
// configuration (goka's clients).
func (c Connection) Apply(sc *sarama.Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	sc.ClientID = c.clientID()
	tc, err := c.TLSConfig()
	if err != nil {
		return err
	}
	if tc != nil {
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	} else if c.Dial != nil {
		sc.Net.Proxy.Enable = true
		sc.Net.Proxy.Dialer = saramaDialer{dial: c.Dial, timeout: sc.Net.DialTimeout}
	}
	if c.SASL.Mechanism == "" {
		return nil
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.User = c.SASL.User
	sc.Net.SASL.Password = c.SASL.Password
	switch c.SASL.Mechanism {
	case SASLPlain:
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case SASLScramSHA256:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: false} }
	case SASLScramSHA512:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: true} }
	}
	return nil
}

// KgoOpts returns the franz-go options for the connection: seed brokers,
// client id, TLS and SASL.
func (c Connection) KgoOpts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(c.clientID())}
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	} else if c.Dial != nil {
		opts = append(opts, kgo.Dialer(c.Dial))
	}
	if m := c.saslMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// NewClient returns a franz-go client for the connection, with extra
// options appended.
func (c Connection) NewClient(extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.KgoOpts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client for %s: %w", c, err)
	}
	return cl, nil
}

func (c Connection) clientID() string {
	if c.ClientID == "" {
		return "sourced"
	}
	return c.ClientID
}

func (c Connection) saslMechanism() sasl.Mechanism {
	switch c.SASL.Mechanism {
	case SASLPlain:
		return plain.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsMechanism()
	case SASLScramSHA256:
		return scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha256Mechanism()
	case SASLScramSHA512:
		return scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha512Mechanism()
	}
	return nil
}

// scramClient adapts franz-go's SCRAM implementation (RFC 5802, with the
// server signature verified) to sarama's SCRAMClient, so both clients
// share one implementation.
type scramClient struct {
	sha512  bool
	mech    sasl.Mechanism
	session sasl.Session
	done    bool
}

// Begin prepares the exchange for the credentials.
func (s *scramClient) Begin(user, password, authzID string) error {
	a := scram.Auth{User: user, Pass: password, Zid: authzID}
	if s.sha512 {
		s.mech = a.AsSha512Mechanism()
	} else {
		s.mech = a.AsSha256Mechanism()
	}
	return nil
}

// Step returns the client-first message when called with no challenge,
// then answers each server message.
func (s *scramClient) Step(challenge string) (string, error) {
	if s.session == nil {
		session, first, err := s.mech.Authenticate(context.Background(), "")
		if err != nil {
			return "", fmt.Errorf("scram: %w", err)
		}
		s.session = session
		return string(first), nil
	}
	done, msg, err := s.session.Challenge([]byte(challenge))
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	s.done = done
	return string(msg), nil
}

// Done reports whether the server's final message was verified.
func (s *scramClient) Done() bool { return s.done }

// IsAuthError reports whether err comes from authentication or
// certificate verification: failures that retrying with the same settings
// cannot fix, so callers should stop instead of waiting for the brokers.
func IsAuthError(err error) bool {
	if err == nil {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var kerrSASL *kerr.Error
	var authErr *AuthError
	if errors.As(err, &authErr) || errors.As(err, &certErr) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname) {
		return true
	}
	if errors.As(err, &kerrSASL) {
		switch kerrSASL.Code {
		case kerr.SaslAuthenticationFailed.Code, kerr.IllegalSaslState.Code, kerr.UnsupportedSaslMechanism.Code:
			return true
		}
	}
	return errors.Is(err, sarama.ErrSASLAuthenticationFailed) || errors.Is(err, sarama.ErrIllegalSASLState) ||
		errors.Is(err, sarama.ErrUnsupportedSASLMechanism)
}

// AuthError is an authentication or certificate failure found by Ping.
type AuthError struct {
	// Connection describes the connection, without secrets.
	Connection string
	// Err is what the client saw.
	Err error
}

// Error explains the failure and what to check.
func (e *AuthError) Error() string {
	return fmt.Sprintf("kafka %s: authentication failed (check the SASL mechanism, user and password, and the TLS CA and server name): %v",
		e.Connection, e.Err)
}

// Unwrap returns what the client saw.
func (e *AuthError) Unwrap() error { return e.Err }

// Ping asks the brokers for metadata once over a fresh connection and
// returns an *AuthError when authentication or certificate verification
// fails. Real Kafka answers wrong credentials with an error code, but some
// brokers (the embedded one among them) just close the connection, which
// clients report as EOF; Ping tells the two apart by watching the SASL
// exchange itself.
func (c Connection) Ping(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := &saslWatch{failed: cancel}
	cl, err := c.NewClient(kgo.WithHooks(watch))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err == nil {
		return nil
	}
	if saslErr := watch.err.Load(); saslErr != nil {
		return &AuthError{Connection: c.String(), Err: fmt.Errorf("the broker ended the SASL exchange: %w", *saslErr)}
	}
	if IsAuthError(err) {
		return &AuthError{Connection: c.String(), Err: err}
	}
	return fmt.Errorf("kafka %s: %w", c, err)
}

// saslWatch records the last failed read or write of a SASL request.
type saslWatch struct {
	err    atomic.Pointer[error]
	failed func() // stops the ping: retrying cannot help
}

// OnBrokerE2E implements kgo.HookBrokerE2E.
func (w *saslWatch) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != int16(kmsg.SASLAuthenticate) && key != int16(kmsg.SASLHandshake) {
		return
	}
	if err := e2e.Err(); err != nil {
		w.err.Store(&err)
		w.failed()
	}
}

// saramaDialer is a Connection's Dial as sarama's proxy dialer (sarama
// dials without a context: its dial timeout bounds the dial).
type saramaDialer struct {
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	timeout time.Duration
}

// Dial dials address within the dial timeout (30 s when unset).
func (d saramaDialer) Dial(network, address string) (net.Conn, error) {
	timeout := d.timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.dial(ctx, network, address)
}
