package api

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// attackerIP is the source address of the hostile clients of these tests;
// the honest ones come from 127.0.0.1 (Linux routes all of 127/8 to lo).
var attackerIP = net.ParseIP("127.0.0.2")

// attackerDialer dials from attackerIP.
var attackerDialer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: attackerIP}, Timeout: 5 * time.Second}

// Busy HTTP connections: 2 × 128 connections from one address, each posting
// a 60,000-byte body at 1 byte a second and reconnecting when cut, hold every
// connection slot. A fresh GET /status from another address still gets
// through (the address holding the most connections loses its oldest), and
// every trickled body is cut by the read-rate floor, long before the
// server's ReadTimeout.
func TestBusyConnectionsFromOneAddress(t *testing.T) {
	s, addr, _ := serveReal(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var opened, cut atomic.Int64
	var cutAfter sync.Map // connection number → how long its body lasted
	for i := range 2 * 128 {
		wg.Go(func() {
			for ctx.Err() == nil {
				c, err := attackerDialer.DialContext(ctx, "tcp", addr)
				if err != nil {
					continue
				}
				n := opened.Add(1)
				start := time.Now()
				fmt.Fprintf(c, "POST /transactions/new HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n")
				go func() { <-ctx.Done(); c.Close() }()
				for ctx.Err() == nil {
					if _, err := c.Write([]byte{' '}); err != nil {
						break
					}
					if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
						break
					}
					// The server answers (400, 503) or closes: the body is cut.
					if k, err := c.Read(make([]byte, 512)); k > 0 || err != nil && !isTimeout(err) {
						cut.Add(1)
						cutAfter.Store(n, time.Since(start))
						break
					}
				}
				c.Close()
				if i%2 == 0 {
					time.Sleep(100 * time.Millisecond) // half reconnect at once, half after a pause
				}
			}
		})
	}
	waitUntil(t, 30*time.Second, "every connection slot held by the attacker", func() bool {
		return s.conns.open() >= DefaultMaxConns
	})
	for i := range 5 {
		start := time.Now()
		code, err := honestGet(addr, "/status")
		if err != nil || code != http.StatusOK {
			t.Fatalf("honest GET /status %d during the attack: %d, %v", i, code, err)
		}
		t.Logf("honest GET /status %d answered in %v, %d connections open", i, time.Since(start).Round(time.Millisecond), s.conns.open())
		time.Sleep(time.Second)
	}
	waitUntil(t, 2*ReadTimeout, "trickled bodies cut by the rate floor", func() bool { return cut.Load() >= 2*128 })
	var longest time.Duration
	cutAfter.Range(func(_, v any) bool { longest = max(longest, v.(time.Duration)); return true })
	t.Logf("HELD: %d attacker connections opened, %d cut; the longest-lived body lasted %v (ReadTimeout %v)", opened.Load(), cut.Load(), longest.Round(time.Millisecond), ReadTimeout)
	if longest >= ReadTimeout {
		t.Fatalf("a body trickled at 1 byte/s lasted %v: not cut before ReadTimeout", longest)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Held /events: 70 streams from one address take the 64 slots (the last 6
// are refused: their address holds the most); an honest GET /events from
// another address is served, and the attacker's slowest stream is told why
// it ends.
func TestEventStreamsFromOneAddress(t *testing.T) {
	s, addr, _ := serveReal(t)
	url := "http://" + addr
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	attacker := &http.Client{Transport: &http.Transport{DialContext: attackerDialer.DialContext}}
	var held []*sseStream
	refused := 0
	for range 70 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := attacker.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			refused++
			resp.Body.Close()
			continue
		}
		t.Cleanup(func() { resp.Body.Close() })
		held = append(held, &sseStream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)})
	}
	if len(held) != MaxEventClients || refused != 70-MaxEventClients {
		t.Fatalf("attacker holds %d streams, %d refused; want %d and %d", len(held), refused, MaxEventClients, 70-MaxEventClients)
	}
	honest := openEventsWith(t, ctx, &http.Client{}, url) // fails the test unless 200
	honest.until(EventHello)
	if n := s.events.clients(); n != MaxEventClients {
		t.Fatalf("%d event streams served, want %d", n, MaxEventClients)
	}
	dropped := held[0].until(EventDropped)
	if !strings.Contains(dropped.data, "holds the most") {
		t.Fatalf("evicted stream told %s", dropped.data)
	}
	t.Logf("HELD: %d streams from one address, %d refused; an honest stream from another address served, the attacker's oldest told %s", len(held), refused, dropped.data)
}
