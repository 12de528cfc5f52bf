package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gossipchain/gossipchain/api/client"
	"github.com/gossipchain/gossipchain/chain"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// invalidNodeList is the tutorial's answer to a body without a list of
// nodes.
const invalidNodeList = "Error: Please supply a valid list of nodes"

// registerConcurrency bounds the entries of one request resolved at once.
const registerConcurrency = 8

type registerRequest struct {
	Nodes json.RawMessage `json:"nodes"`
}

// nodeTarget is one parsed entry of POST /nodes/register: a multiaddr with
// /p2p/, or the base URL of another node's HTTP API.
type nodeTarget struct {
	entry string
	addr  multiaddr.Multiaddr // set for a multiaddr entry
	base  *url.URL            // set for an HTTP entry: scheme and host only
}

// parseNodeEntry parses a multiaddr ending in /p2p/<peer id>, an HTTP(S) URL
// of another node (only its scheme, host and port are used, as the tutorial
// uses only the network location), or a bare host:port, taken as http.
func parseNodeEntry(entry string) (nodeTarget, error) {
	t := nodeTarget{entry: entry}
	s := strings.TrimSpace(entry)
	if s == "" {
		return t, errors.New("empty entry")
	}
	if strings.HasPrefix(s, "/") {
		m, err := multiaddr.NewMultiaddr(s)
		if err != nil {
			return t, fmt.Errorf("invalid multiaddr: %v", err)
		}
		if _, err := peer.AddrInfoFromP2pAddr(m); err != nil {
			return t, fmt.Errorf("multiaddr must end in /p2p/<peer id>: %v", err)
		}
		t.addr = m
		return t, nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return t, fmt.Errorf("neither a multiaddr nor a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return t, fmt.Errorf("unsupported URL scheme %q: want http, https or a multiaddr", u.Scheme)
	}
	if u.Hostname() == "" {
		return t, errors.New("URL has no host")
	}
	if u.User != nil {
		return t, errors.New("URL must not carry credentials")
	}
	t.base = &url.URL{Scheme: u.Scheme, Host: u.Host}
	return t, nil
}

// handleRegister serves POST /nodes/register: it connects to every node
// listed, and answers with all connected peers.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req registerRequest
	if err := decodeObject(data, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var entries []string
	if req.Nodes == nil || json.Unmarshal(req.Nodes, &entries) != nil || len(entries) == 0 {
		writeError(w, http.StatusBadRequest, invalidNodeList)
		return
	}
	if len(entries) > MaxRegisterNodes {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: at most %d nodes per request, got %d", invalidNodeList, MaxRegisterNodes, len(entries)))
		return
	}
	targets := make([]nodeTarget, len(entries))
	var bad []string
	for i, e := range entries {
		t, err := parseNodeEntry(e)
		if err != nil {
			bad = append(bad, fmt.Sprintf("node %q: %v", e, err))
		}
		targets[i] = t
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(bad, "; "))
		return
	}

	extendWriteDeadline(w, s.cfg.RegisterTimeout+WriteTimeout)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RegisterTimeout)
	defer cancel()
	errs := make([]error, len(targets))
	sem := make(chan struct{}, registerConcurrency)
	var wg sync.WaitGroup
	for i := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = s.register(ctx, targets[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			bad = append(bad, fmt.Sprintf("node %q: %v", targets[i].entry, err))
		}
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(bad, "; "))
		return
	}
	total := []string{}
	for _, p := range s.net.Peers() {
		if p.Addr != "" { // a peer with no known listen address cannot be dialled
			total = append(total, p.Addr+"/p2p/"+p.ID)
		}
	}
	writeJSON(w, http.StatusCreated, client.Registered{Message: "New nodes have been added", TotalNodes: total})
}

// register connects to one target; for an HTTP target it first learns the
// node's multiaddrs from its /status.
func (s *Server) register(ctx context.Context, t nodeTarget) error {
	if t.addr != nil {
		return s.net.Connect(ctx, t.addr)
	}
	addrs, err := s.fetchAddrs(ctx, t.base)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range addrs {
		err := s.net.Connect(ctx, a)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("no multiaddr of %s could be dialled: %w", t.base, errors.Join(errs...))
}

// networkMismatch names the parameters in which another node's network
// differs from ours, as the flags of the gossipchain command set them.
func networkMismatch(base string, st client.Status, p chain.Params, ours chain.Hash) error {
	if st.Params == (client.NetworkParams{}) { // a node of protocol 1 states none
		return fmt.Errorf("%s is on another network: network %q with genesis %s, this node's genesis is %s (its status has no parameters: a node of an older protocol version)",
			base, st.Network, st.Genesis, ours)
	}
	theirs, mine := chain.Settings(netParamsOf(st.Network, st.Params), p.Net())
	if theirs == "" {
		return fmt.Errorf("%s is on another network: network %q with genesis %s, this node's genesis is %s (the name and parameters agree: another protocol version differs)",
			base, st.Network, st.Genesis, ours)
	}
	return fmt.Errorf("%s is on another network: it runs with %s, this node with %s", base, theirs, mine)
}

// netParamsOf returns the parameters another node's status states.
func netParamsOf(name string, p client.NetworkParams) chain.NetParams {
	np := chain.NetParams{Name: name, TargetBlockTime: time.Duration(p.TargetBlockTimeUS) * time.Microsecond,
		HalfLife: time.Duration(p.HalfLifeUS) * time.Microsecond, InitialTarget: p.InitialBits, MaxTarget: p.MaxBits,
		FixedDifficulty: p.FixedDifficulty, Reward: p.Reward, MaxBlockSize: uint32(p.MaxBlockSize),
		MaxBlockTxs: uint32(p.MaxBlockTxs), Ledger: p.Ledger}
	if np.Ledger == "" {
		np.Ledger = chain.LedgerOpen // a node older than the signed ledger
	}
	return np
}

// fetchAddrs reads base/status and returns the node's multiaddrs, the ones
// most likely reachable from here first. It refuses a node on another
// network and this node itself.
func (s *Server) fetchAddrs(ctx context.Context, base *url.URL) ([]multiaddr.Multiaddr, error) {
	u := base.JoinPath("/status")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxStatusBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > MaxStatusBytes {
		return nil, fmt.Errorf("GET %s: status is larger than %d bytes", u, MaxStatusBytes)
	}
	var st client.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("GET %s: not a gossipchain status: %v", u, err)
	}
	id, err := peer.Decode(st.PeerID)
	if err != nil {
		return nil, fmt.Errorf("GET %s: invalid peer_id %q: %v", u, st.PeerID, err)
	}
	if st.PeerID == s.net.ID() {
		return nil, fmt.Errorf("%s is this node", base)
	}
	if ours := s.chain.Genesis().Hash; st.Genesis != ours {
		return nil, networkMismatch(base.String(), st, s.chain.Params(), ours)
	}
	var addrs []multiaddr.Multiaddr
	for _, a := range st.Addrs {
		m, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			continue
		}
		if ai, err := peer.AddrInfoFromP2pAddr(m); err != nil || ai.ID != id {
			continue
		}
		addrs = append(addrs, m)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s lists no multiaddr of its peer %s", base, st.PeerID)
	}
	sortAddrs(addrs, base.Hostname())
	return addrs, nil
}

// sortAddrs orders a node's multiaddrs for dialling from here: first those
// on the IP address its URL names, then, when that is a loopback address,
// other loopback ones, then other addresses, loopback last otherwise; TCP
// before QUIC.
func sortAddrs(addrs []multiaddr.Multiaddr, host string) {
	hostIP := net.ParseIP(host)
	hostLoopback := host == "localhost" || (hostIP != nil && hostIP.IsLoopback())
	rank := func(m multiaddr.Multiaddr) int {
		ip, err := manet.ToIP(m)
		r := 0
		switch {
		case err != nil:
			r = 30
		case hostIP != nil && ip.Equal(hostIP):
			r = 0
		case ip.IsLoopback() && hostLoopback:
			r = 10
		case ip.IsLoopback():
			r = 30
		default:
			r = 20
		}
		if _, err := m.ValueForProtocol(multiaddr.P_TCP); err != nil {
			r++
		}
		return r
	}
	slices.SortStableFunc(addrs, func(a, b multiaddr.Multiaddr) int { return cmp.Compare(rank(a), rank(b)) })
}
