package infra_test

import (
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/config"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var line string
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			line += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		line += l
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" || len(stages) == 0 {
			stages = append(stages, nil)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// defaultPort is the port an HTTP function listens on when $PORT is unset.
func defaultPort(t *testing.T) string {
	f, _ := reflect.TypeOf(config.Server{}).FieldByName("Port")
	return f.Tag.Get("default")
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 3 { // the ARG preamble, build, final
		t.Fatalf("want a multi-stage build, got %d stages", len(stages))
	}
	final := stages[len(stages)-1]
	base := final[0].args
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("final stage FROM %s: want distroless static or scratch", base)
	}
	var user, entry, expose string
	env := map[string]string{}
	for _, in := range final {
		switch in.cmd {
		case "RUN", "SHELL":
			t.Errorf("final stage runs %s %s: it must hold no shell", in.cmd, in.args)
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "EXPOSE":
			expose = in.args
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "root" || uid == "0" {
		t.Errorf("final stage USER %q: want a non-root user", user)
	}
	if !strings.HasPrefix(entry, "[") {
		t.Errorf("ENTRYPOINT %s: want the exec form (there is no shell)", entry)
	}
	if env["FUNCTION_TARGET"] != "${FUNCTION}" || env["PORT"] != defaultPort(t) || expose != defaultPort(t) {
		t.Errorf("final stage: want FUNCTION_TARGET=${FUNCTION}, PORT and EXPOSE %s, got %v EXPOSE %s", defaultPort(t), env, expose)
	}
	// Every function builds from the path the build stage uses.
	var build string
	for _, in := range stages[len(stages)-2] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.Contains(build, "./functions/${FUNCTION}/cmd") {
		t.Fatalf("build stage: want a static build of ./functions/${FUNCTION}/cmd, got %q", build)
	}
	for fn := range functions {
		if _, err := os.Stat("../functions/" + fn + "/cmd/main.go"); err != nil {
			t.Errorf("FUNCTION=%s cannot build: %v", fn, err)
		}
	}
}

func TestKnativeManifest(t *testing.T) {
	docs := loadYAML(t, "knative.yaml")
	seen := map[string]bool{}
	for _, d := range docs {
		name := strings.TrimPrefix(str(get(d, "metadata", "name")), "seckill-")
		seen[name] = true
		spec := get(d, "spec", "template", "spec")
		containers := list(get(spec, "containers"))
		if len(containers) != 1 {
			t.Errorf("%s: want one container", name)
			continue
		}
		c := containers[0]
		var vars []string
		for _, e := range list(get(c, "env")) {
			if n := str(get(e, "name")); n != "AWS_REGION" {
				vars = append(vars, n)
			}
		}
		slices.Sort(vars)
		var spec2 any
		switch str(get(d, "kind")) {
		case "Service":
			spec2 = config.Deployed[name]
			// Knative sets PORT itself and refuses a container that sets it.
			if slices.Contains(vars, "PORT") {
				t.Errorf("%s: sets PORT, which Knative reserves", name)
			}
			port := list(get(c, "ports"))
			if len(port) != 1 || strconv.Itoa(get(port[0], "containerPort").(int)) != defaultPort(t) {
				t.Errorf("%s: containerPort must be %s, what the function listens on", name, defaultPort(t))
			}
		case "Deployment":
			spec2 = &config.Projector{} // outside Lambda the projector reads the stream itself
		}
		want, err := config.Vars(spec2)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(vars, want) {
			t.Errorf("%s: sets %q, its config reads %q", name, vars, want)
		}
		if get(c, "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s: want runAsNonRoot", name)
		}
	}
	for fn := range functions {
		if !seen[fn] {
			t.Errorf("no manifest for %s", fn)
		}
	}
}

// TestDockerignore: the build context is what the Dockerfile copies and
// nothing else (no node_modules, binaries or data: ~150 MB otherwise).
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			rules = append(rules, l)
		}
	}
	if len(rules) == 0 || rules[0] != "*" {
		t.Fatalf("the first rule must exclude everything, got %v", rules)
	}
	for _, want := range []string{"!go.mod", "!go.sum", "!functions/", "!shared/"} {
		if !slices.Contains(rules, want) {
			t.Errorf("the Dockerfile copies %s but .dockerignore does not let it in", strings.TrimPrefix(want, "!"))
		}
	}
}
