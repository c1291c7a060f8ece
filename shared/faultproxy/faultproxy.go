// Package faultproxy is a TCP proxy that breaks the network on command, so
// tests can put it between the functions and DynamoDB Local and watch the
// system through real faults: refused connections, a store that hangs
// (blackhole), and connections cut after a request was sent but before its
// answer came back (the ambiguous write).
package faultproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the proxy does to traffic.
type Mode int32

const (
	// Pass forwards everything.
	Pass Mode = iota
	// Refuse closes the listening socket, so dials fail with ECONNREFUSED,
	// and resets the connections already open.
	Refuse
	// Blackhole accepts connections and swallows every byte in both
	// directions: the peer waits until its own deadline.
	Blackhole
	// Cut forwards each request to the target, then closes the client's
	// connection when the target starts answering: the write happened, the
	// client never hears of it.
	Cut
)

func (m Mode) String() string {
	return [...]string{"pass", "refuse", "blackhole", "cut"}[m]
}

// Proxy forwards one local address to a target address.
type Proxy struct {
	target string
	addr   string
	mode   atomic.Int32

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on a free loopback port and forwards to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// URL is the proxy's address as an http URL.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode { return Mode(p.mode.Load()) }

// Set switches the mode. Leaving Refuse listens again on the same address;
// entering Refuse or Cut drops the open connections, as a crashed peer or a
// broken link would.
func (p *Proxy) Set(m Mode) error {
	old := Mode(p.mode.Swap(int32(m)))
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == Refuse || m == Cut {
		for c := range p.conns {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not an orderly close
			}
			_ = c.Close()
		}
	}
	switch {
	case m == Refuse && old != Refuse:
		return p.ln.Close()
	case m != Refuse && old == Refuse && !p.closed:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return err
		}
		p.ln = ln
		p.serve(ln)
	}
	return nil
}

// Close stops the proxy and drops every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) serve(ln net.Listener) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.handle(c)
			}()
		}
	}()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) handle(client net.Conn) {
	if !p.track(client) {
		_ = client.Close()
		return
	}
	defer p.untrack(client)
	if p.Mode() == Blackhole {
		_, _ = io.Copy(io.Discard, client)
		return
	}
	upstream, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(upstream) {
		_ = upstream.Close()
		return
	}
	defer p.untrack(upstream)
	done := make(chan struct{}, 2)
	go func() { p.pipe(upstream, client, false); done <- struct{}{} }()
	go func() { p.pipe(client, upstream, true); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst chunk by chunk, consulting the mode for each.
func (p *Proxy) pipe(dst, src net.Conn, answers bool) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			switch p.Mode() {
			case Blackhole:
				continue // swallowed; the peer hears nothing
			case Cut:
				if answers {
					return // the request went through; its answer never does
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a dropped connection: close both sides
		}
	}
}
