package elastic

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config configures a Store. The zero value, with URLs set, talks to an
// unauthenticated cluster over the system's trust store.
//
// Secrets (Password, APIKey) never appear in errors, logs or String.
type Config struct {
	// URLs are the cluster's HTTP endpoints ("https://es1:9200"). They
	// must not carry credentials: use Username and Password. Required.
	URLs []string

	// Username and Password authenticate with HTTP basic auth. Set both
	// or neither.
	Username string
	Password string
	// APIKey authenticates with "Authorization: ApiKey <APIKey>": the
	// base64 encoding of "id:api_key", as Elasticsearch's create API key
	// response gives it in "encoded". Exclusive with Username.
	APIKey string

	// CACert is PEM-encoded certificate authorities to trust instead of
	// the system's. Exclusive with CAFile.
	CACert []byte
	// CAFile is a file of PEM-encoded certificate authorities, read by New.
	CAFile string
	// ServerName overrides the name the server certificate is checked
	// against. Default: the URL's host.
	ServerName string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool

	// CompressRequestBody gzips request bodies. Default: false.
	CompressRequestBody bool

	// MaxRetries is how many times a request is tried again after a
	// connection error, a 429, 502, 503 or 504. Default: 5. Negative:
	// no retries.
	MaxRetries int
	// RetryBackoffMin and RetryBackoffMax bound the wait before a retry:
	// it doubles from Min with each attempt up to Max, with jitter (a
	// random value in the upper half). Default: 100ms and 10s.
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// RequestTimeout bounds each attempt of a request (a timed-out attempt
	// is retried); the caller's context bounds the whole call. Default:
	// 1m. Negative: no limit.
	RequestTimeout time.Duration

	// Logger receives retries and failed requests at Debug.
	// Default: a logger that discards everything.
	Logger *slog.Logger
	// Transport replaces the HTTP transport (tests). The TLS options
	// apply only when it is nil or an *http.Transport (which is cloned).
	Transport http.RoundTripper
}

// Defaults of Config.
const (
	DefaultMaxRetries      = 5
	DefaultRetryBackoffMin = 100 * time.Millisecond
	DefaultRetryBackoffMax = 10 * time.Second
	DefaultRequestTimeout  = time.Minute
)

func (c *Config) setDefaults() {
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.RetryBackoffMin == 0 {
		c.RetryBackoffMin = DefaultRetryBackoffMin
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = DefaultRetryBackoffMax
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem of the configuration, joined. It never
// quotes a secret.
func (c *Config) Validate() error {
	var errs []error
	if len(c.URLs) == 0 {
		errs = append(errs, errors.New("elastic: config: URLs: at least one URL is required"))
	}
	for i, raw := range c.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			// url.Error quotes the input, which may hold a password.
			errs = append(errs, fmt.Errorf("elastic: config: URLs[%d]: not a URL", i))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("elastic: config: URLs[%d] %q: scheme must be http or https", i, u.Redacted()))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("elastic: config: URLs[%d] %q: no host", i, u.Redacted()))
		case u.User != nil:
			errs = append(errs, fmt.Errorf("elastic: config: URLs[%d] %q: credentials in URLs are not supported: use Username and Password", i, u.Redacted()))
		}
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("elastic: config: Username and Password: set both or neither"))
	}
	if c.APIKey != "" && c.Username != "" {
		errs = append(errs, errors.New("elastic: config: APIKey and Username are exclusive"))
	}
	if len(c.CACert) > 0 && c.CAFile != "" {
		errs = append(errs, errors.New("elastic: config: CACert and CAFile are exclusive"))
	}
	if c.Transport != nil && c.hasTLS() {
		if _, ok := c.Transport.(*http.Transport); !ok {
			errs = append(errs, fmt.Errorf("elastic: config: TLS options need an *http.Transport, not %T", c.Transport))
		}
	}
	if c.RetryBackoffMin < 0 || c.RetryBackoffMax < c.RetryBackoffMin {
		errs = append(errs, fmt.Errorf("elastic: config: retry backoff [%v, %v]: want 0 <= min <= max", c.RetryBackoffMin, c.RetryBackoffMax))
	}
	return errors.Join(errs...)
}

func (c *Config) hasTLS() bool {
	return len(c.CACert) > 0 || c.CAFile != "" || c.ServerName != "" || c.InsecureSkipVerify
}

// String describes the configuration with its secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "elastic.Config{URLs: %v", c.URLs)
	if c.Username != "" {
		fmt.Fprintf(&b, ", Username: %q, Password: [redacted]", c.Username)
	}
	if c.APIKey != "" {
		b.WriteString(", APIKey: [redacted]")
	}
	if len(c.CACert) > 0 {
		fmt.Fprintf(&b, ", CACert: %d bytes", len(c.CACert))
	}
	if c.CAFile != "" {
		fmt.Fprintf(&b, ", CAFile: %q", c.CAFile)
	}
	if c.ServerName != "" {
		fmt.Fprintf(&b, ", ServerName: %q", c.ServerName)
	}
	if c.InsecureSkipVerify {
		b.WriteString(", InsecureSkipVerify: true")
	}
	fmt.Fprintf(&b, ", CompressRequestBody: %t, MaxRetries: %d, RetryBackoff: [%v, %v], RequestTimeout: %v}",
		c.CompressRequestBody, c.MaxRetries, c.RetryBackoffMin, c.RetryBackoffMax, c.RequestTimeout)
	return b.String()
}

// GoString is String, so that %#v redacts the secrets too.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration with its secrets redacted.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// httpTransport returns the transport requests go through: Config.Transport
// or a clone of http.DefaultTransport, with the TLS options applied.
func (c *Config) httpTransport() (http.RoundTripper, error) {
	if c.Transport != nil && !c.hasTLS() {
		return c.Transport, nil
	}
	var t *http.Transport
	if ht, ok := c.Transport.(*http.Transport); ok {
		t = ht.Clone()
	} else {
		t = http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16 // concurrent bulk writers reuse connections
	}
	if !c.hasTLS() {
		return t, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, documented as tests only
	if t.TLSClientConfig != nil {
		tc = t.TLSClientConfig.Clone()
		tc.ServerName, tc.InsecureSkipVerify = c.ServerName, c.InsecureSkipVerify
	}
	pem := c.CACert
	if c.CAFile != "" {
		var err error
		if pem, err = os.ReadFile(c.CAFile); err != nil {
			return nil, fmt.Errorf("elastic: config: read CAFile: %w", err)
		}
	}
	if len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("elastic: config: no PEM certificate in the CA certificates")
		}
		tc.RootCAs = pool
	}
	t.TLSClientConfig = tc
	return t, nil
}

// backoff returns the wait before retry number attempt (1 for the first
// retry): min doubled attempt-1 times, capped at max, then a random value
// in its upper half, so that writers rejected together spread out.
func backoff(minD, maxD time.Duration, attempt int) time.Duration {
	d := minD
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
