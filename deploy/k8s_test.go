package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kinds are the API types the manifests may use, by apiVersion and kind.
var kinds = map[string]func() any{
	"v1/Namespace":                            func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// parseManifests decodes every YAML document of data strictly into its
// API type: an unknown field, a wrong type or an unknown kind is an error.
func parseManifests(data []byte) ([]any, error) {
	var objs []any
	for i, doc := range docSeparator.Split(string(data), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		newObj, ok := kinds[meta.APIVersion+"/"+meta.Kind]
		if !ok {
			return nil, fmt.Errorf("document %d (%s): unexpected apiVersion/kind %s/%s", i+1, meta.Metadata.Name, meta.APIVersion, meta.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

func TestManifestParserIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 3\n",
		"misplaced field": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 80, targetPort: http, containerPort: 80}]\n",
		"wrong type":      "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  backoffLimit: lots\n",
		"unknown kind":    "apiVersion: apps/v1\nkind: DaemonSett\nmetadata: {name: x}\n",
		"wrong version":   "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n",
	} {
		if _, err := parseManifests([]byte(doc)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

// TestKubernetesFilesParseStrictly parses every manifest file as written
// (what kustomize reads), without kubectl.
func TestKubernetesFilesParseStrictly(t *testing.T) {
	files, _ := filepath.Glob("k8s/*/*.yaml")
	more, _ := filepath.Glob("k8s/*/*/*.yaml")
	files = append(files, more...)
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := parseManifests(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		n += len(objs)
	}
	if n < 20 {
		t.Errorf("parsed only %d objects from %d files", n, len(files))
	}
}

// kustomizations are the entry points an operator builds.
var kustomizations = []string{"k8s/overlays/production", "k8s/jobs/view-rebuild"}

// kustomize builds dir with kustomize's own library (krusty, what
// `kubectl kustomize` runs), pinned in go.mod, so no kubectl is needed.
func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return out
}

// TestKubectlKustomizeAgrees builds every kustomization with the kubectl
// an operator would use and checks it renders the same objects as the
// pinned library.
func TestKubectlKustomizeAgrees(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: `kubectl kustomize` not cross-checked (the kustomize library still built every overlay above; .ci/run tries apt-get install kubectl)")
	}
	out, err := exec.Command(kubectl, "version", "--client").CombinedOutput()
	m := regexp.MustCompile(`Kustomize Version: v(\d+)`).FindSubmatch(out)
	if err != nil || m == nil || string(m[1]) < "5" || len(m[1]) != 1 {
		t.Skipf("kubectl has no kustomize v5 (%q, %v): too old to build these kustomizations; not cross-checked", bytes.TrimSpace(out), err)
	}
	for _, dir := range kustomizations {
		var stderr bytes.Buffer
		cmd := exec.Command(kubectl, "kustomize", dir)
		cmd.Stderr = &stderr
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
		}
		gotObjs, err := parseManifests(got)
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		wantObjs, err := parseManifests(kustomize(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(gotObjs) != len(wantObjs) {
			t.Fatalf("kubectl kustomize %s: %d objects, the library %d", dir, len(gotObjs), len(wantObjs))
		}
		for _, w := range wantObjs {
			if !slices.ContainsFunc(gotObjs, func(g any) bool { return reflect.DeepEqual(g, w) }) {
				t.Errorf("kubectl kustomize %s renders %T differently from the library", dir, w)
			}
		}
	}
}

// rendered is what the kustomizations build, indexed.
type rendered struct {
	objs       []any
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	services   []*corev1.Service
}

func renderAll(t *testing.T) rendered {
	t.Helper()
	r := rendered{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, dir := range kustomizations {
		objs, err := parseManifests(kustomize(t, dir))
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		r.objs = append(r.objs, objs...)
	}
	for _, o := range r.objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *corev1.Service:
			r.services = append(r.services, o)
		}
	}
	return r
}

// workload is a pod template with where it comes from.
type workload struct {
	kind, name string
	labels     map[string]string
	pod        corev1.PodSpec
}

func (r rendered) workloads() []workload {
	var ws []workload
	for _, o := range r.objs {
		switch o := o.(type) {
		case *appsv1.StatefulSet:
			ws = append(ws, workload{"StatefulSet", o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
		case *appsv1.Deployment:
			ws = append(ws, workload{"Deployment", o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
		case *batchv1.Job:
			ws = append(ws, workload{"Job", o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
		}
	}
	return ws
}

// TestKustomizeBuilds builds every kustomization and parses the output
// strictly.
func TestKustomizeBuilds(t *testing.T) {
	r := renderAll(t)
	count := map[string]int{}
	for _, o := range r.objs {
		count[fmt.Sprintf("%T", o)]++
	}
	for typ, min := range map[string]int{
		"*v1.StatefulSet": 2, "*v1.Deployment": 6, "*v1.Job": 2, "*v1.Service": 8, "*v1.PodDisruptionBudget": 3,
		"*v1.NetworkPolicy": 2, "*v1.ServiceMonitor": 1, "*v1.Secret": 3, "*v1.ConfigMap": 2,
	} {
		if count[typ] < min {
			t.Errorf("%d %s, want at least %d (%v)", count[typ], typ, min, count)
		}
	}
}

// TestKubernetesWorkloads checks the rendered workloads against sourced
// (flags, variables, mounted secret files) and the production rules.
func TestKubernetesWorkloads(t *testing.T) {
	r := renderAll(t)
	pdbs := map[string]bool{}
	for _, o := range r.objs {
		if p, ok := o.(*policyv1.PodDisruptionBudget); ok {
			pdbs[p.Spec.Selector.MatchLabels["app.kubernetes.io/component"]] = true
		}
	}
	for _, w := range r.workloads() {
		where := w.kind + " " + w.name
		for _, c := range w.pod.Containers {
			if why := pinnedImage(c.Image); why != "" {
				t.Errorf("%s: image %s: %s", where, c.Image, why)
			}
			name := c.Image[strings.LastIndex(c.Image, "/")+1:]
			if !strings.HasPrefix(name, "sourced:") && !strings.HasPrefix(name, "sourced@") {
				continue
			}
			if len(c.Command) > 0 {
				t.Errorf("%s: overrides the image's entrypoint with %q", where, c.Command)
			}
			env := map[string]string{}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef == nil {
					t.Errorf("%s: envFrom other than a ConfigMap", where)
					continue
				}
				cm, ok := r.configMaps[ef.ConfigMapRef.Name]
				if !ok {
					t.Errorf("%s: envFrom ConfigMap %s does not exist", where, ef.ConfigMapRef.Name)
					continue
				}
				for k, v := range cm.Data {
					env[k] = v
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					t.Errorf("%s: %s from a Secret as a variable; mount the Secret and use a _FILE flag", where, e.Name)
				}
				env[e.Name] = e.Value
			}
			checkInvocation(t, invocation{where: where, args: c.Args, env: env})

			// Every file the flags and variables name is a key of a
			// Secret mounted there.
			var files []string
			for k, v := range env {
				if strings.HasSuffix(k, "_FILE") || strings.HasSuffix(k, "_CA") || k == "SOURCED_TLS_CERT" || k == "SOURCED_TLS_KEY" {
					files = append(files, v)
				}
			}
			for i, a := range c.Args {
				if strings.HasSuffix(a, "-file") && i+1 < len(c.Args) {
					files = append(files, c.Args[i+1])
				}
			}
			for _, f := range files {
				if err := mountedSecretFile(r, w.pod, c, f); err != nil {
					t.Errorf("%s: %v", where, err)
				}
			}

			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: want a read-only root, no privilege escalation and all capabilities dropped", where)
			}
			if psc := w.pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
				t.Errorf("%s: pods must run as a non-root user", where)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: want cpu and memory requests and a memory limit", where)
			}

			path := strings.Join(commandPath(c.Args), " ")
			if !strings.HasPrefix(path, "run ") {
				continue
			}
			// Long-running roles.
			if i := slices.Index(c.Args, "--http"); i < 0 || c.Args[i+1] != "0.0.0.0:8080" {
				t.Errorf("%s: want --http 0.0.0.0:8080", where)
			}
			if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
				t.Errorf("%s: want a liveness probe on /healthz", where)
			}
			if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: want a readiness probe on /readyz", where)
			}
			if g := w.pod.TerminationGracePeriodSeconds; strings.HasPrefix(path, "run processor") && (g == nil || *g < 65) {
				t.Errorf("%s: terminationGracePeriodSeconds must exceed goka's 60 s commit wait", where)
			}
			if path == "run gateway" {
				for _, f := range []string{"--tokens-file", "--max-body"} {
					if !slices.Contains(c.Args, f) {
						t.Errorf("%s: the gateway must run with %s", where, f)
					}
				}
			}
			comp := w.labels["app.kubernetes.io/component"]
			if !slices.ContainsFunc(r.services, func(s *corev1.Service) bool {
				return s.Spec.Selector["app.kubernetes.io/component"] == comp && s.Labels["app.kubernetes.io/part-of"] == "sourced" &&
					slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "http" })
			}) {
				t.Errorf("%s: no Service with an http port for the ServiceMonitor", where)
			}
		}
	}
	for _, o := range r.objs {
		s, ok := o.(*appsv1.StatefulSet)
		if !ok {
			continue
		}
		comp := s.Spec.Template.Labels["app.kubernetes.io/component"]
		if len(s.Spec.VolumeClaimTemplates) == 0 {
			t.Errorf("StatefulSet %s: no volumeClaimTemplates for the state dir", s.Name)
		}
		if a := s.Spec.Template.Spec.Affinity; a == nil || a.PodAntiAffinity == nil {
			t.Errorf("StatefulSet %s: no pod anti-affinity", s.Name)
		}
		if !pdbs[comp] {
			t.Errorf("StatefulSet %s: no PodDisruptionBudget", s.Name)
		}
	}
}

// mountedSecretFile reports whether path is a key of a Secret volume
// mounted in c.
func mountedSecretFile(r rendered, pod corev1.PodSpec, c corev1.Container, path string) error {
	for _, m := range c.VolumeMounts {
		dir := strings.TrimSuffix(m.MountPath, "/") + "/"
		key, ok := strings.CutPrefix(path, dir)
		if !ok {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			if v.Secret == nil {
				return fmt.Errorf("%s is on volume %s, which is not a Secret", path, v.Name)
			}
			s, ok := r.secrets[v.Secret.SecretName]
			if !ok {
				return fmt.Errorf("%s: Secret %s does not exist", path, v.Secret.SecretName)
			}
			if _, ok := s.Data[key]; !ok {
				if _, ok := s.StringData[key]; !ok {
					return fmt.Errorf("%s: Secret %s has no key %s", path, s.Name, key)
				}
			}
			return nil
		}
		return fmt.Errorf("%s: volume %s is not defined", path, m.Name)
	}
	return fmt.Errorf("%s is on no mounted volume", path)
}

func TestKustomizeIsStrict(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resourcez: [x.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	if _, err := k.Run(filesys.MakeFsOnDisk(), dir); err == nil {
		t.Fatal("a kustomization with an unknown field built without error")
	}
}
