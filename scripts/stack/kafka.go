package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaOptions configures one Apache Kafka broker in KRaft combined mode
// (broker and controller in one JVM).
type KafkaOptions struct {
	// Dir holds the broker's config, data and log; it survives restarts.
	Dir string
	// JavaHome is the JDK to run; empty means JAVA_HOME or the java on PATH.
	JavaHome string
	// HeapMB is the JVM heap; 0 means 512.
	HeapMB int
	// SASLSSL, when set, adds a SASL_SSL listener beside the plaintext one.
	SASLSSL *SASLSSLListener
	// Config adds or overrides server.properties entries.
	Config map[string]string
	// ClusterID is the KRaft cluster id (16 bytes, URL-safe base64 without
	// padding); empty means a random one.
	ClusterID string
}

// SASLSSLListener is a SASL_SSL listener with SCRAM (SHA-256 and SHA-512)
// and PLAIN users.
type SASLSSLListener struct {
	// KeystorePEM is a PEM file with the broker's unencrypted PKCS#8 key
	// followed by its certificate chain.
	KeystorePEM string
	// Users maps user names to passwords; each gets SCRAM credentials of
	// both mechanisms and a PLAIN entry.
	Users map[string]string
}

// Kafka is a running (or stopped) Apache Kafka broker.
type Kafka struct {
	opts        KafkaOptions
	libs        string
	port, cport int
	saslPort    int
	proc        *process
}

// NewKafka prepares a broker in opts.Dir on free loopback ports and
// formats its storage; Start runs it.
func NewKafka(a Artifacts, opts KafkaOptions) (*Kafka, error) {
	if opts.HeapMB == 0 {
		opts.HeapMB = 512
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("kafka dir: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	k := &Kafka{opts: opts, libs: a.KafkaLibs, port: ports[0], cport: ports[1], saslPort: ports[2]}
	if err := os.WriteFile(k.path("server.properties"), []byte(k.properties()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.path("log4j2.xml"), []byte(kafkaLog4j), 0o644); err != nil {
		return nil, err
	}
	if err := k.format(); err != nil {
		return nil, err
	}
	return k, nil
}

// Addr is the plaintext listener, host:port.
func (k *Kafka) Addr() string { return fmt.Sprintf("127.0.0.1:%d", k.port) }

// SASLSSLAddr is the SASL_SSL listener, host:port ("" without one).
func (k *Kafka) SASLSSLAddr() string {
	if k.opts.SASLSSL == nil {
		return ""
	}
	return fmt.Sprintf("127.0.0.1:%d", k.saslPort)
}

// LogPath is the file the broker logs to (appended across restarts).
func (k *Kafka) LogPath() string { return k.path("kafka.log") }

// PID is the running broker's process id, 0 when stopped.
func (k *Kafka) PID() int {
	if k.proc == nil {
		return 0
	}
	return k.proc.pid()
}

// RSSKB is the running broker's resident memory in KiB.
func (k *Kafka) RSSKB() int { return rssKB(k.PID()) }

func (k *Kafka) path(name string) string { return filepath.Join(k.opts.Dir, name) }

func (k *Kafka) properties() string {
	listeners := []string{fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", k.port), fmt.Sprintf("CONTROLLER://127.0.0.1:%d", k.cport)}
	advertised := []string{fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", k.port)}
	protocols := "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
	conf := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.quorum.bootstrap.servers":              fmt.Sprintf("127.0.0.1:%d", k.cport),
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"log.dirs":                                         k.path("data"),
		"num.partitions":                                   "1",
		"offsets.topic.replication.factor":                 "1",
		"offsets.topic.num.partitions":                     "8",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
		"auto.create.topics.enable":                        "false",
		"log.cleaner.backoff.ms":                           "1000",
		"log.retention.check.interval.ms":                  "10000",
	}
	if s := k.opts.SASLSSL; s != nil {
		listeners = append(listeners, fmt.Sprintf("SASL_SSL://127.0.0.1:%d", k.saslPort))
		advertised = append(advertised, fmt.Sprintf("SASL_SSL://127.0.0.1:%d", k.saslPort))
		protocols += ",SASL_SSL:SASL_SSL"
		conf["sasl.enabled.mechanisms"] = "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN"
		conf["listener.name.sasl_ssl.ssl.keystore.type"] = "PEM"
		conf["listener.name.sasl_ssl.ssl.keystore.location"] = s.KeystorePEM
		conf["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
		conf["listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
		var plain strings.Builder
		plain.WriteString("org.apache.kafka.common.security.plain.PlainLoginModule required")
		for _, u := range slices.Sorted(maps.Keys(s.Users)) {
			fmt.Fprintf(&plain, " user_%s=%q", u, s.Users[u])
		}
		conf["listener.name.sasl_ssl.plain.sasl.jaas.config"] = plain.String() + ";"
	}
	conf["listeners"] = strings.Join(listeners, ",")
	conf["advertised.listeners"] = strings.Join(advertised, ",")
	conf["listener.security.protocol.map"] = protocols
	maps.Copy(conf, k.opts.Config)
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(conf)) {
		fmt.Fprintf(&b, "%s=%s\n", key, conf[key])
	}
	return b.String()
}

// format runs kafka.tools.StorageTool once, in standalone KRaft mode, with
// the SCRAM users of the SASL_SSL listener.
func (k *Kafka) format() error {
	if _, err := os.Stat(filepath.Join(k.path("data"), "meta.properties")); err == nil {
		return nil
	}
	clusterID := k.opts.ClusterID
	if clusterID == "" {
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		clusterID = base64.RawURLEncoding.EncodeToString(id)
	}
	args := []string{"format", "--standalone", "--ignore-formatted",
		// "=": a random id may start with "-", which argparse would take for a flag.
		"--cluster-id=" + clusterID, "--config=" + k.path("server.properties")}
	if s := k.opts.SASLSSL; s != nil {
		for _, u := range slices.Sorted(maps.Keys(s.Users)) {
			for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
				args = append(args, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", mech, u, s.Users[u]))
			}
		}
	}
	cmd, err := k.java("kafka.tools.StorageTool", args...)
	if err != nil {
		return err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("format kafka storage: %w\n%s", err, tail(string(out), 20))
	}
	return nil
}

func (k *Kafka) java(main string, args ...string) (*exec.Cmd, error) {
	home, err := javaHome(k.opts.JavaHome)
	if err != nil {
		return nil, err
	}
	jvm := []string{
		fmt.Sprintf("-Xms%dm", k.opts.HeapMB), fmt.Sprintf("-Xmx%dm", k.opts.HeapMB),
		"-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + k.path("log4j2.xml"),
		"-Dkafka.logs.dir=" + k.opts.Dir,
		"-cp", filepath.Join(k.libs, "*"),
		main,
	}
	cmd := exec.Command(filepath.Join(home, "bin", "java"), append(jvm, args...)...)
	cmd.Dir = k.opts.Dir
	return cmd, nil
}

// Start runs the broker and returns once it answers metadata requests,
// or fails with the tail of its log.
func (k *Kafka) Start(ctx context.Context) error {
	if k.proc != nil {
		select {
		case <-k.proc.exited:
		default:
			return fmt.Errorf("kafka already running as %d", k.proc.pid())
		}
	}
	cmd, err := k.java("kafka.Kafka", k.path("server.properties"))
	if err != nil {
		return err
	}
	p, err := spawn(cmd, k.LogPath())
	if err != nil {
		return err
	}
	k.proc = p
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr()), kgo.DialTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	return p.waitReady(ctx, "kafka", func(ctx context.Context) error {
		m, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return err
		}
		if m.Controller < 0 {
			return fmt.Errorf("no active controller yet")
		}
		return nil
	})
}

// Kill ends the broker with SIGKILL, as a crash would.
func (k *Kafka) Kill() {
	if k.proc != nil {
		k.proc.kill()
	}
}

// Stop shuts the broker down cleanly (SIGTERM), killing it after 30 s.
func (k *Kafka) Stop() {
	if k.proc != nil {
		k.proc.stop(30 * time.Second)
	}
}

// WriteInfo describes the broker for a human: ports, PID, log.
func (k *Kafka) WriteInfo(w io.Writer) {
	fmt.Fprintf(w, "kafka %s pid %d on %s (log %s)\n", KafkaVersion, k.PID(), k.Addr(), k.LogPath())
}

// kafkaLog4j keeps the broker's log readable: INFO for the server, WARN
// for the chatty request and state-change loggers.
const kafkaLog4j = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="STDOUT"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.controller" level="INFO"/>
    <Logger name="kafka.log.LogCleaner" level="INFO"/>
    <Logger name="org.apache.kafka.storage.internals.log.LogCleaner" level="INFO"/>
  </Loggers>
</Configuration>
`
