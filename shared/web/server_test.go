package web_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seckill/seckill/shared/web"
)

func serve(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	rt := web.NewRouter()
	rt.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := web.Decode(w, r, &body); err != nil {
			web.Error(w, r, err)
			return
		}
		web.JSON(w, http.StatusOK, body)
	})
	go func() { done <- web.Serve(ctx, l, rt) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return l.Addr().String()
}

// TestSlowloris opens 200 connections that trickle a request header one
// byte at a time: the server keeps answering others at once, and drops the
// tricklers once the header deadline passes.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	addr := serve(t)
	var wg sync.WaitGroup
	dropped := make(chan time.Duration, 200)
	for range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			for _, b := range []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)) {
				if _, err := c.Write([]byte{b}); err != nil {
					dropped <- time.Since(start)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			dropped <- -1
		}()
	}
	time.Sleep(500 * time.Millisecond)
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a normal client behind 200 slow ones: %v", err)
	}
	resp.Body.Close()
	wg.Wait()
	close(dropped)
	n := 0
	for d := range dropped {
		if d < 0 {
			t.Fatal("a trickling client was never dropped")
		}
		n++
	}
	t.Logf("%d slow clients dropped", n)
}

// TestOversizedInput: a body over 64 KiB is a 413 problem, headers over
// the cap are refused, and neither takes the server down.
func TestOversizedInput(t *testing.T) {
	t.Parallel()
	addr := serve(t)
	big := `{"x":"` + strings.Repeat("a", 70<<10) + `"}`
	resp, err := http.Post("http://"+addr+"/echo", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"code":"invalid-request"`) ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("big body: %d %s", resp.StatusCode, body)
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"))
	status, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(status, "431") {
		t.Fatalf("big header: got %q, want 431", status)
	}

	resp, err = http.Post("http://"+addr+"/echo", "application/json", strings.NewReader(`{"ok":true}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the oversized requests: %v", err)
	}
	resp.Body.Close()
}

// TestTransferEncodingWithContentLength: a request carrying both headers
// is answered with the connection closed, so a request hidden in its body
// is never read (RFC 9112 §6.1).
func TestTransferEncodingWithContentLength(t *testing.T) {
	t.Parallel()
	addr := serve(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	smuggled := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	body := "b\r\n{\"ok\":true}\r\n0\r\n\r\n" + smuggled
	_, _ = c.Write([]byte("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the connection stayed open: %v (read %q)", err, raw)
	}
	if n := strings.Count(string(raw), "HTTP/1.1 "); n != 1 || !strings.Contains(string(raw), "Connection: close") {
		t.Fatalf("got %d answers, want one with the connection closed:\n%s", n, raw)
	}
}

// TestHeaderLimit: a request line and headers of just under MaxHeader are
// served, and just over it are refused with 431: the limit is the one
// stated, not the 4 KiB more that Go's server would otherwise read.
func TestHeaderLimit(t *testing.T) {
	t.Parallel()
	addr := serve(t)
	ask := func(total int) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		head := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
		pad := total - len(head) - len("\r\n\r\n")
		_, _ = c.Write([]byte(head + strings.Repeat("a", pad) + "\r\n\r\n"))
		status, _ := bufio.NewReader(c).ReadString('\n')
		return status
	}
	if got := ask(web.MaxHeader - 512); !strings.Contains(got, "200") {
		t.Errorf("%d bytes of head: got %q, want 200", web.MaxHeader-512, got)
	}
	if got := ask(web.MaxHeader + 512); !strings.Contains(got, "431") {
		t.Errorf("%d bytes of head: got %q, want 431", web.MaxHeader+512, got)
	}
}

// TestUncleanPaths: a path with empty, "." or ".." segments is a not-found
// problem like any unknown path, never a redirect.
func TestUncleanPaths(t *testing.T) {
	t.Parallel()
	addr := serve(t)
	for _, p := range []string{"//healthz", "/x/../healthz", "/./healthz", "/healthz/.", "//echo"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("GET " + p + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(body), `"code":"not-found"`) || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: got %d %q %s", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}
