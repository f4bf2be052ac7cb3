package app

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
)

// kafkaFlags are the connection flags every Kafka-facing command takes.
// Each also reads its SOURCED_<FLAG> environment variable, so secrets never
// have to be on the command line: SOURCED_SASL_PASSWORD or
// --sasl-password-file.
type kafkaFlags struct {
	brokers       *string
	clientID      *string
	saslMechanism *string
	saslUser      *string
	saslPassword  *string
	saslPassFile  *string
	tls           *bool
	tlsCA         *string
	tlsCert       *string
	tlsKey        *string
	tlsServerName *string
	tlsInsecure   *bool
	prefix        *string
}

// addKafkaFlags registers the connection flags on fs.
func addKafkaFlags(fs *flag.FlagSet) *kafkaFlags {
	return addKafkaFlagsBrokers(fs, "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
}

// addKafkaFlagsBrokers registers the connection flags with another default
// and description of --brokers (dev: none, the embedded broker).
func addKafkaFlagsBrokers(fs *flag.FlagSet, brokers, brokersUsage string) *kafkaFlags {
	return &kafkaFlags{
		brokers:       fs.String("brokers", brokers, brokersUsage),
		clientID:      fs.String("client-id", "sourced", "Kafka client id"),
		saslMechanism: fs.String("sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)"),
		saslUser:      fs.String("sasl-user", "", "SASL user"),
		saslPassword:  fs.String("sasl-password", "", "SASL password (prefer SOURCED_SASL_PASSWORD or --sasl-password-file)"),
		saslPassFile:  fs.String("sasl-password-file", "", "file holding the SASL password"),
		tls:           fs.Bool("tls", false, "connect to Kafka over TLS"),
		tlsCA:         fs.String("tls-ca", "", "PEM file of CAs to trust (default: the system roots)"),
		tlsCert:       fs.String("tls-cert", "", "PEM client certificate (mutual TLS)"),
		tlsKey:        fs.String("tls-key", "", "PEM client key (mutual TLS)"),
		tlsServerName: fs.String("tls-server-name", "", "name to verify in the broker certificate (default: the host dialed)"),
		tlsInsecure:   fs.Bool("tls-insecure-skip-verify", false, "do not verify the broker certificate (testing only)"),
		prefix:        fs.String("prefix", "", "prefix of every topic, consumer group and Elasticsearch index name (several deployments, or tests, sharing one cluster)"),
	}
}

// topics returns the topic and group names of an aggregate under --prefix.
func (f *kafkaFlags) topics(aggregate string) codecs.Topics {
	return codecs.NewTopics(*f.prefix, aggregate)
}

// indexPrefix is what goes before every Elasticsearch index and alias
// name under --prefix: the prefix joined with "-", as in topic names.
func indexPrefix(prefix string) string {
	if prefix == "" {
		return ""
	}
	return prefix + "-"
}

// connection builds the connection settings from the parsed flags.
func (f *kafkaFlags) connection() (kafka.Connection, error) {
	password := *f.saslPassword
	if *f.saslPassFile != "" {
		b, err := os.ReadFile(*f.saslPassFile)
		if err != nil {
			return kafka.Connection{}, usageError{fmt.Errorf("read sasl password file: %w", err)}
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	c := kafka.Connection{
		Brokers:  splitList(*f.brokers),
		ClientID: *f.clientID,
		SASL:     kafka.SASL{Mechanism: strings.ToUpper(*f.saslMechanism), User: *f.saslUser, Password: password},
		TLS: kafka.TLS{
			Enabled:            *f.tls || *f.tlsCA != "" || *f.tlsCert != "",
			CAFile:             *f.tlsCA,
			CertFile:           *f.tlsCert,
			KeyFile:            *f.tlsKey,
			ServerName:         *f.tlsServerName,
			InsecureSkipVerify: *f.tlsInsecure,
		},
	}
	if err := c.Validate(); err != nil {
		return kafka.Connection{}, usageError{fmt.Errorf("kafka connection: %w", err)}
	}
	return c, nil
}

// pingTimeout bounds the connection check of the command-line tools.
const pingTimeout = 10 * time.Second

// connect checks that the brokers answer and accept the credentials, then
// returns what dial returns. For tools, which should fail at once.
func (f *kafkaFlags) connect(ctx context.Context, extra ...kgo.Opt) (kafka.Connection, *kgo.Client, *sarama.Config, error) {
	conn, err := f.connection()
	if err != nil {
		return conn, nil, nil, err
	}
	if err := ping(ctx, conn); err != nil {
		return conn, nil, nil, err
	}
	return f.dial(extra...)
}

// dial returns the connection settings, a franz-go client with extra
// options, and a sarama configuration for goka, all from the same flags,
// without contacting the brokers.
func (f *kafkaFlags) dial(extra ...kgo.Opt) (kafka.Connection, *kgo.Client, *sarama.Config, error) {
	conn, err := f.connection()
	if err != nil {
		return conn, nil, nil, err
	}
	sc := processors.KafkaConfig()
	if err := conn.Apply(sc); err != nil {
		return conn, nil, nil, usageError{fmt.Errorf("kafka connection: %w", err)}
	}
	cl, err := conn.NewClient(extra...)
	if err != nil {
		return conn, nil, nil, err
	}
	return conn, cl, sc, nil
}

// splitList splits a comma-separated list, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// saramaConfig checks the connection and returns its settings and a sarama
// configuration for goka, for tools that need no franz-go client.
func (f *kafkaFlags) saramaConfig(ctx context.Context) (kafka.Connection, *sarama.Config, error) {
	conn, err := f.connection()
	if err != nil {
		return conn, nil, err
	}
	if err := ping(ctx, conn); err != nil {
		return conn, nil, err
	}
	sc := processors.KafkaConfig()
	if err := conn.Apply(sc); err != nil {
		return conn, nil, usageError{fmt.Errorf("kafka connection: %w", err)}
	}
	return conn, sc, nil
}

// ping checks, within pingTimeout, that the brokers answer and accept the
// credentials; a failure is a connection error (exit 4).
func ping(ctx context.Context, conn kafka.Connection) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		return usageError{err}
	}
	return nil
}
