package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/b2dc4357/sourced/third_party/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/kafka"
	"github.com/b2dc4357/sourced/scripts/stack"
	"github.com/b2dc4357/sourced/scripts/stack/stacktest"
)

// saslBroker is a broker with a SASL_SSL listener whose certificate certs
// signed, and the user svc with password for PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512: a dedicated Apache Kafka on the real stack (its SASL_SSL
// address), else the embedded broker.
func saslBroker(t *testing.T, certs stacktest.Certificates, password string) []string {
	t.Helper()
	if stacktest.RealKafka() != "" {
		k := stacktest.OwnKafka(t, stack.KafkaOptions{SASLSSL: &stack.SASLSSLListener{
			KeystorePEM: certs.KeystoreFile, Users: map[string]string{"svc": password}}})
		return []string{k.SASLSSLAddr()}
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.EnableSASL(), kfake.TLS(certs.ServerTLS())}
	for _, mech := range []string{kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512} {
		opts = append(opts, kfake.Superuser(mech, "svc", password))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	return cluster.ListenAddrs()
}

// One broker with a SASL_SSL listener (a real one under SOURCED_TEST_KAFKA,
// certificates made by the test): both clients authenticate with each
// mechanism over TLS, and a wrong password or an untrusted certificate fail
// at once with an error that says so.
func TestConnectionOverSASLSSL(t *testing.T) {
	certs := stacktest.NewCertificates(t, t.TempDir())
	brokers := saslBroker(t, certs, "s3cret")
	for _, mech := range []string{kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512} {
		t.Run(mech+" over TLS authenticates both clients", func(t *testing.T) {
			conn := kafka.Connection{
				Brokers: brokers,
				SASL:    kafka.SASL{Mechanism: mech, User: "svc", Password: "s3cret"},
				TLS:     kafka.TLS{Enabled: true, CAFile: certs.CAFile},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := conn.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}

			// franz-go: the admin path creates the topics.
			cl, err := conn.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			topics := codecs.NewTopics(strings.ToLower(strings.ReplaceAll(mech, "-", "")), "invoice")
			spec := kafka.TopicSpec{Partitions: 2, NoCompaction: stacktest.RealKafka() == ""}
			if err := kafka.EnsureTopics(ctx, cl, topics, spec); err != nil {
				t.Fatalf("ensure topics over %s: %v", conn, err)
			}

			// sarama (goka's client): produce through the same settings.
			sc := processors.KafkaConfig()
			if err := conn.Apply(sc); err != nil {
				t.Fatal(err)
			}
			producer, err := sarama.NewSyncProducer(conn.Brokers, sc)
			if err != nil {
				t.Fatalf("sarama producer over %s: %v", conn, err)
			}
			if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topics.Commands, Key: sarama.StringEncoder("i-1"), Value: sarama.StringEncoder("{}")}); err != nil {
				t.Fatalf("sarama produce: %v", err)
			}
			producer.Close()

			// franz-go reads back what sarama wrote.
			rd, err := conn.NewClient(kgo.ConsumeTopics(topics.Commands), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			fetches := rd.PollRecords(ctx, 1)
			if err := fetches.Err(); err != nil {
				t.Fatalf("consume: %v", err)
			}
			if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Key) != "i-1" {
				t.Fatalf("read back %d records, want the one produced", len(recs))
			}
		})
	}

	t.Run("a wrong password fails clearly", func(t *testing.T) {
		for _, mech := range []string{kafka.SASLPlain, kafka.SASLScramSHA512} {
			conn := kafka.Connection{
				Brokers: brokers,
				SASL:    kafka.SASL{Mechanism: mech, User: "svc", Password: "wrong-password"},
				TLS:     kafka.TLS{Enabled: true, CAFile: certs.CAFile},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			start := time.Now()
			err := conn.Ping(ctx)
			cancel()
			if !kafka.IsAuthError(err) || !strings.Contains(err.Error(), "authentication failed") {
				t.Fatalf("%s wrong password: got %v, want an authentication error", mech, err)
			}
			if strings.Contains(err.Error(), "wrong-password") {
				t.Fatalf("the error shows the password: %v", err)
			}
			t.Logf("%s wrong password, after %s: %v", mech, time.Since(start).Round(time.Millisecond), err)

			// goka's client (sarama) gives up too, with an error of its own.
			sc := processors.KafkaConfig()
			if err := conn.Apply(sc); err != nil {
				t.Fatal(err)
			}
			sc.Metadata.Retry.Max = 1
			start = time.Now()
			client, err := sarama.NewClient(conn.Brokers, sc)
			if err == nil {
				client.Close()
				t.Fatalf("%s: sarama connected with a wrong password", mech)
			}
			t.Logf("%s wrong password, sarama after %s: %v (auth error: %v)", mech, time.Since(start).Round(time.Millisecond), err, kafka.IsAuthError(err))
			// Apache Kafka answers with SASL_AUTHENTICATION_FAILED; the
			// embedded broker closes the connection, which sarama reports
			// as EOF (Ping tells that apart by watching the exchange).
			if stacktest.RealKafka() != "" && !kafka.IsAuthError(err) {
				t.Fatalf("%s: sarama's error on Apache Kafka is not an authentication error: %v", mech, err)
			}
		}
	})

	t.Run("an untrusted certificate fails clearly", func(t *testing.T) {
		otherCA := stacktest.NewCertificates(t, t.TempDir()).CAFile
		conn := kafka.Connection{
			Brokers: brokers,
			SASL:    kafka.SASL{Mechanism: kafka.SASLScramSHA256, User: "svc", Password: "s3cret"},
			TLS:     kafka.TLS{Enabled: true, CAFile: otherCA},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := conn.Ping(ctx)
		t.Logf("untrusted certificate: %v", err)
		if !kafka.IsAuthError(err) {
			t.Fatalf("untrusted broker certificate: got %v, want a TLS verification error", err)
		}
	})
}

func TestConnectionValidate(t *testing.T) {
	for name, c := range map[string]kafka.Connection{
		"no brokers":        {},
		"unknown mechanism": {Brokers: []string{"b:9092"}, SASL: kafka.SASL{Mechanism: "GSSAPI", User: "u"}},
		"mechanism no user": {Brokers: []string{"b:9092"}, SASL: kafka.SASL{Mechanism: kafka.SASLPlain}},
		"cert without key":  {Brokers: []string{"b:9092"}, TLS: kafka.TLS{Enabled: true, CertFile: "c.pem"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	c := kafka.Connection{Brokers: []string{"b:9092"}, SASL: kafka.SASL{Mechanism: kafka.SASLPlain, User: "u", Password: "hunter2"}}
	if strings.Contains(c.String(), "hunter2") {
		t.Errorf("String shows the password: %s", c)
	}
}
