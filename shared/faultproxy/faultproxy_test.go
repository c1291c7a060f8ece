package faultproxy

import (
	"bufio"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// echo serves lines back, counting what it received.
func echo(t *testing.T) (string, chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					got <- line
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), got
}

func roundTrip(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestModes(t *testing.T) {
	target, received := echo(t)
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if got, err := roundTrip(p.Addr()); err != nil || got != "hello\n" || <-received != "hello\n" {
		t.Fatalf("pass: %q %v", got, err)
	}
	_ = p.Set(Refuse)
	if _, err := roundTrip(p.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refuse: got %v, want connection refused", err)
	}
	_ = p.Set(Blackhole)
	if _, err := roundTrip(p.Addr()); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackhole: got %v, want a timeout", err)
	}
	select {
	case line := <-received:
		t.Fatalf("blackhole: the target received %q", line)
	default:
	}
	_ = p.Set(Cut)
	if got, err := roundTrip(p.Addr()); err == nil {
		t.Fatalf("cut: got an answer %q", got)
	}
	if line := <-received; line != "hello\n" {
		t.Fatalf("cut: the target received %q, want the request", line)
	}
	_ = p.Set(Pass)
	if got, err := roundTrip(p.Addr()); err != nil || got != "hello\n" {
		t.Fatalf("pass again: %q %v", got, err)
	}
}
