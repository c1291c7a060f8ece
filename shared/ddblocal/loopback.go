package ddblocal

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// bindC is the preload that keeps DynamoDB Local on loopback (see the file).
//
//go:embed loopback/bind.c
var bindC []byte

// Loopback are the JVM options that go with the preload: IPv4 sockets, so
// that the wildcard the preload rewrites is 0.0.0.0.
var loopbackJVM = []string{"-Djava.net.preferIPv4Stack=true"}

// preload builds the shared object once per source and machine, in the
// user's cache, and returns its path.
var preload = sync.OnceValues(func() (string, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return "", errors.New("ddblocal: a C compiler (cc, from gcc) is needed to keep DynamoDB Local on loopback: apt-get install gcc")
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	sum := sha256.Sum256(bindC)
	dir = filepath.Join(dir, "seckill")
	so := filepath.Join(dir, "bind-loopback-"+hex.EncodeToString(sum[:8])+".so")
	if _, err := os.Stat(so); err == nil {
		return so, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	src, err := os.CreateTemp(dir, "bind-*.c")
	if err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	defer os.Remove(src.Name())
	if _, err := src.Write(bindC); err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	src.Close()
	// Built beside its final name and renamed, so that processes building
	// it at once never load a half-written file.
	tmp := so + fmt.Sprintf(".%d.tmp", os.Getpid())
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-O2", "-o", tmp, src.Name(), "-ldl").CombinedOutput(); err != nil {
		return "", fmt.Errorf("ddblocal: build the loopback preload: %v: %s", err, out)
	}
	if err := os.Rename(tmp, so); err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	return so, nil
})
