package launch

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FreePort returns a TCP port that was free a moment ago on 127.0.0.1, for
// a node that must keep its ports across restarts.
//
// The port is below the kernel's ephemeral range, so that no outgoing
// connection and no listener on port 0 (of this process, a node or another
// test package) can take it between FreePort and the node's bind, nor while
// a stopped node waits to be restarted on it. Ports are handed out in turn
// from a random start, each checked free.
func FreePort() (int, error) {
	portOnce.Do(func() {
		limit := ephemeralPortStart()
		portLow, portHigh = max(limit-12000, 1024), limit
		nextPort = portLow + int(time.Now().UnixNano()%int64(portHigh-portLow))
	})
	portMu.Lock()
	defer portMu.Unlock()
	for range portHigh - portLow {
		p := nextPort
		if nextPort++; nextPort >= portHigh {
			nextPort = portLow
		}
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free TCP port in %d..%d", portLow, portHigh-1)
}

var (
	portOnce          sync.Once
	portMu            sync.Mutex
	portLow, portHigh int // [portLow, portHigh): below the ephemeral range
	nextPort          int
)

// ephemeralPortStart returns the first port of the kernel's ephemeral range
// (32768, Linux's default, if it cannot be read).
func ephemeralPortStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo <= 2048 {
		return 32768
	}
	return lo
}
