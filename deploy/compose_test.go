package deploy

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads a compose file the way `docker compose` does, with the
// Compose specification's schema validation on, every profile active and
// no variables from the environment.
func loadCompose(t *testing.T, file string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv(nil),
		cli.WithProfiles([]string{"*"}),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

// TestComposeLoaderIsStrict shows the loader refuses what `docker compose`
// would refuse, so TestCompose passing means something.
func TestComposeLoaderIsStrict(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown service field": "services:\n  a:\n    image: busybox:1.37\n    restrat: always\n",
		"unknown top-level key": "services:\n  a:\n    image: busybox:1.37\nvolumez: {}\n",
		"wrong type":            "services:\n  a:\n    image: busybox:1.37\n    stop_grace_period: [90]\n",
		"undefined volume":      "services:\n  a:\n    image: busybox:1.37\n    volumes: [data:/data]\n",
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		if err := os.WriteFile(file, []byte("name: strict\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadCompose(t, file); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}

// TestCompose checks deploy/compose/compose.yaml against the Compose
// specification and against what sourced and the deployment need.
func TestCompose(t *testing.T) {
	p, err := loadCompose(t, "compose/compose.yaml")
	if err != nil {
		t.Fatalf("compose/compose.yaml: %v", err)
	}
	setup, err := os.ReadFile("compose/scripts/setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"setup", "es01", "es-init", "kafka", "kafka-init", "topics",
		"processor-invoice-1", "processor-invoice-2", "processor-invoice-3",
		"processor-profile-1", "processor-profile-2", "processor-profile-3",
		"publisher-invoice", "publisher-profile", "view-invoice-search", "view-invoice-history", "view-profile",
		"gateway-1", "gateway-2", "rebuild", "prometheus", "grafana"}
	for _, name := range want {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("no service %q", name)
		}
	}
	prom, err := os.ReadFile("compose/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	dataVolumes := map[string]string{}
	for name, s := range p.Services {
		if s.Build == nil {
			if why := pinnedImage(s.Image); why != "" {
				t.Errorf("service %s: image %s: %s", name, s.Image, why)
			}
		}
		if s.Image != "sourced:compose" {
			continue
		}
		if s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("service %s: the sourced image must be built from deploy/Dockerfile", name)
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		checkInvocation(t, invocation{where: "compose service " + name, args: s.Command, env: env})
		// Secret files the roles read are written by setup.sh.
		for k, v := range env {
			if file, ok := strings.CutPrefix(v, "/run/sourced/"); ok && (strings.HasSuffix(k, "_FILE") || strings.HasSuffix(k, "_CA")) {
				if !strings.Contains(string(setup), `"$SOURCED/`+file+`"`) {
					t.Errorf("service %s: %s=%s, which setup.sh does not write", name, k, v)
				}
			}
		}
		for i, a := range s.Command {
			if a == "--tokens-file" && i+1 < len(s.Command) {
				if file, ok := strings.CutPrefix(s.Command[i+1], "/run/sourced/"); !ok || !strings.Contains(string(setup), `"$SOURCED/`+file+`"`) {
					t.Errorf("service %s: --tokens-file %s is not written by setup.sh", name, s.Command[i+1])
				}
			}
		}
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Source == "sourced-secrets" && v.Target == "/run/sourced" && v.ReadOnly
		}) {
			t.Errorf("service %s: sourced-secrets is not mounted read-only at /run/sourced", name)
		}
		path := strings.Join(commandPath(s.Command), " ")
		longRunning := strings.HasPrefix(path, "run ")
		if !longRunning {
			continue
		}
		// Long-running roles: metrics and probes on --http 0.0.0.0:8080,
		// a health check on /readyz, a clean stop, Prometheus scrapes it.
		if i := slices.Index(s.Command, "--http"); i < 0 || s.Command[i+1] != "0.0.0.0:8080" {
			t.Errorf("service %s: want --http 0.0.0.0:8080, got %q", name, s.Command)
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 4 || hc.Test[2] != "probe" || !strings.HasSuffix(hc.Test[3], ":8080/readyz") {
			t.Errorf("service %s: want a health check `sourced probe http://127.0.0.1:8080/readyz`, got %+v", name, hc)
		} else {
			checkInvocation(t, invocation{where: "compose service " + name + " healthcheck", args: hc.Test[2:]})
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) < 65*time.Second {
			t.Errorf("service %s: stop_grace_period must exceed goka's 60 s commit wait", name)
		}
		if !strings.Contains(string(prom), name+":8080") {
			t.Errorf("service %s: not scraped by compose/prometheus.yml", name)
		}
		if dep, ok := s.DependsOn["topics"]; !ok && !strings.HasPrefix(name, "gateway") || ok && dep.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("service %s: must start after topics completed, got %+v", name, s.DependsOn)
		}
		if strings.HasPrefix(path, "run processor") || strings.HasPrefix(path, "run publisher") || path == "run gateway" {
			var data string
			for _, v := range s.Volumes {
				if v.Target == "/data" && v.Type == types.VolumeTypeVolume {
					data = v.Source
				}
			}
			if data == "" {
				t.Errorf("service %s: no named volume on /data for its LevelDB stores", name)
			} else if other, dup := dataVolumes[data]; dup {
				t.Errorf("services %s and %s share the data volume %s", name, other, data)
			}
			dataVolumes[data] = name
		}
		if path == "run gateway" {
			for _, f := range []string{"--tokens-file", "--max-body"} {
				if !slices.Contains(s.Command, f) {
					t.Errorf("service %s: the gateway must run with %s", name, f)
				}
			}
		}
	}
	for _, agg := range []string{"invoice", "profile"} {
		n := 0
		for name := range p.Services {
			if strings.HasPrefix(name, "processor-"+agg+"-") {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d processor replicas of %s, want 3", n, agg)
		}
	}
	// Start order: the gateways wait for healthy processors; the views
	// and rebuilds for the Elasticsearch user.
	for _, name := range []string{"gateway-1", "gateway-2"} {
		if d := p.Services[name].DependsOn["processor-invoice-1"]; d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: want depends_on processor-invoice-1 healthy, got %+v", name, d)
		}
	}
	for _, name := range []string{"view-invoice-search", "view-invoice-history", "view-profile"} {
		if d := p.Services[name].DependsOn["es-init"]; d.Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s: want depends_on es-init completed, got %+v", name, d)
		}
	}
	// Elasticsearch with security and HTTPS on; Kafka clients on SASL_SSL.
	es := p.Services["es01"].Environment
	for k, v := range map[string]string{"xpack.security.enabled": "true", "xpack.security.http.ssl.enabled": "true", "discovery.type": "single-node"} {
		if es[k] == nil || *es[k] != v {
			t.Errorf("es01: %s must be %s", k, v)
		}
	}
	kafka := p.Services["kafka"].Environment
	if l := kafka["KAFKA_ADVERTISED_LISTENERS"]; l == nil || !strings.HasPrefix(*l, "SASL_SSL://") || strings.Contains(*l, "PLAINTEXT://") {
		t.Errorf("kafka: clients must connect over SASL_SSL only, advertised %v", l)
	}
	if r := kafka["KAFKA_PROCESS_ROLES"]; r == nil || *r != "broker,controller" {
		t.Errorf("kafka: want KRaft combined mode")
	}
	if id := kafka["CLUSTER_ID"]; id == nil {
		t.Errorf("kafka: KRaft needs CLUSTER_ID")
	} else if b, err := base64.RawURLEncoding.DecodeString(*id); err != nil || len(b) != 16 {
		t.Errorf("kafka: CLUSTER_ID %q must be a UUID in base64url without padding (%d bytes, %v)", *id, len(b), err)
	}
	// Grafana gets the datasource and the dashboard provisioned.
	for _, target := range []string{"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"} {
		if !slices.ContainsFunc(p.Services["grafana"].Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == target }) {
			t.Errorf("grafana: nothing mounted at %s", target)
		}
	}
}
