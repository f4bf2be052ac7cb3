package processors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/b2dc4357/sourced/codecs"
	"github.com/b2dc4357/sourced/processors"
	"github.com/b2dc4357/sourced/processors/processorstest"
)

func TestConnectionAuthenticatesBothClients(t *testing.T) {
	certs := processorstest.NewCertificates(t, t.TempDir())
	caFile, serverTLS := certs.CAFile, certs.ServerTLS()
	for _, mech := range []string{processors.SASLPlain, processors.SASLScramSHA256, processors.SASLScramSHA512} {
		t.Run(mech+" over TLS", func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
				kfake.Superuser(mech, "svc", "s3cret-"+mech), kfake.TLS(serverTLS))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			conn := processors.Connection{
				Brokers: cluster.ListenAddrs(),
				SASL:    processors.SASL{Mechanism: mech, User: "svc", Password: "s3cret-" + mech},
				TLS:     processors.TLS{Enabled: true, CAFile: caFile},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// franz-go: the admin path creates the topics.
			cl, err := conn.NewClient()
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			topics := codecs.NewTopics("", "invoice")
			if err := processors.EnsureTopics(ctx, cl, topics, processors.TopicSpec{Partitions: 2}); err != nil {
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
}

func TestConnectionWrongPasswordFailsClearly(t *testing.T) {
	certs := processorstest.NewCertificates(t, t.TempDir())
	caFile, serverTLS := certs.CAFile, certs.ServerTLS()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser(processors.SASLScramSHA512, "svc", "right-password"), kfake.TLS(serverTLS))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	conn := processors.Connection{
		Brokers: cluster.ListenAddrs(),
		SASL:    processors.SASL{Mechanism: processors.SASLScramSHA512, User: "svc", Password: "wrong-password"},
		TLS:     processors.TLS{Enabled: true, CAFile: caFile},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	err = conn.Ping(ctx)
	if !processors.IsAuthError(err) {
		t.Fatalf("wrong password: got %v, want an authentication error", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("the error shows the password: %v", err)
	}
	t.Logf("wrong password: %v", err)
}

func TestConnectionUntrustedCertificateFailsClearly(t *testing.T) {
	serverTLS := processorstest.NewCertificates(t, t.TempDir()).ServerTLS()
	otherCA := processorstest.NewCertificates(t, t.TempDir()).CAFile
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	conn := processors.Connection{Brokers: cluster.ListenAddrs(), TLS: processors.TLS{Enabled: true, CAFile: otherCA}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = conn.Ping(ctx)
	t.Logf("untrusted certificate: %v", err)
	if !processors.IsAuthError(err) {
		t.Fatalf("untrusted broker certificate: got %v, want a TLS verification error", err)
	}
}

func TestConnectionValidate(t *testing.T) {
	for name, c := range map[string]processors.Connection{
		"no brokers":        {},
		"unknown mechanism": {Brokers: []string{"b:9092"}, SASL: processors.SASL{Mechanism: "GSSAPI", User: "u"}},
		"mechanism no user": {Brokers: []string{"b:9092"}, SASL: processors.SASL{Mechanism: processors.SASLPlain}},
		"cert without key":  {Brokers: []string{"b:9092"}, TLS: processors.TLS{Enabled: true, CertFile: "c.pem"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
	c := processors.Connection{Brokers: []string{"b:9092"}, SASL: processors.SASL{Mechanism: processors.SASLPlain, User: "u", Password: "hunter2"}}
	if strings.Contains(c.String(), "hunter2") {
		t.Errorf("String shows the password: %s", c)
	}
}
