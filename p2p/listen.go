package p2p

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// ListenError is the error of New when the host could not listen on some
// of its listen addresses: a port held by another process (another node on
// the same machine), an address of no interface of this machine.
type ListenError struct {
	// Addrs are the listen addresses the host could not listen on, as
	// Config.ListenAddrs gave them.
	Addrs []string
	// Err is the reason, that of the first address.
	Err error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("cannot listen on %s: %v", strings.Join(e.Addrs, ", "), e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// InUse reports whether another process holds the port.
func (e *ListenError) InUse() bool { return errors.Is(e.Err, syscall.EADDRINUSE) }

// unlistened returns the ListenError of the listen addresses with a fixed
// port that the host does not listen on (all of them when the host could
// not be built), or nil. go-libp2p reports a failure only when every
// address fails, as a string: the reason is found again by binding the
// address for a moment.
func unlistened(want []multiaddr.Multiaddr, listening []multiaddr.Multiaddr) error {
	var e *ListenError
	for _, m := range want {
		if hasPort(m, 0) || containsAddr(listening, m) {
			continue
		}
		if e == nil {
			e = &ListenError{Err: bindError(m)}
		}
		e.Addrs = append(e.Addrs, m.String())
	}
	if e == nil {
		return nil
	}
	return e
}

// containsAddr reports whether addrs holds m, ignoring the certificate
// hashes a WebTransport or WebRTC-direct listener adds.
func containsAddr(addrs []multiaddr.Multiaddr, m multiaddr.Multiaddr) bool {
	for _, a := range addrs {
		if stripCertHashes(a).Equal(stripCertHashes(m)) {
			return true
		}
	}
	return false
}

// hasPort reports whether m's TCP or UDP port is port.
func hasPort(m multiaddr.Multiaddr, port int) bool {
	for _, code := range []int{multiaddr.P_TCP, multiaddr.P_UDP} {
		if v, err := m.ValueForProtocol(code); err == nil {
			return v == fmt.Sprint(port)
		}
	}
	return false
}

// bindError binds m's IP address and TCP or UDP port for a moment and
// returns why that fails; a generic error when it does not.
func bindError(m multiaddr.Multiaddr) error {
	thin, _ := multiaddr.SplitFunc(m, func(c multiaddr.Component) bool {
		return c.Protocol().Code != multiaddr.P_IP4 && c.Protocol().Code != multiaddr.P_IP6 &&
			c.Protocol().Code != multiaddr.P_TCP && c.Protocol().Code != multiaddr.P_UDP
	})
	network, addr, err := manet.DialArgs(thin)
	if err != nil {
		return fmt.Errorf("no transport listens on it: %w", err)
	}
	var c interface{ Close() error }
	if strings.HasPrefix(network, "udp") {
		c, err = net.ListenPacket(network, addr)
	} else {
		c, err = net.Listen(network, addr)
	}
	if err != nil {
		var errno syscall.Errno // "address already in use", without the call that failed
		if errors.As(err, &errno) {
			return errno
		}
		return err
	}
	c.Close()
	return errors.New("the host did not listen on it")
}
