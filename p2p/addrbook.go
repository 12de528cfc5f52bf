package p2p

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// AddrBookFile is the name of the address book in the data directory.
const AddrBookFile = "peers.json"

// Address book limits. PROTOCOL.md and README document them.
const (
	// MaxAddrBookEntries bounds the peers the address book remembers; when it
	// is full, the entry seen least recently (never a bootstrap or registered
	// one) makes room.
	MaxAddrBookEntries = 1024
	// MaxAddrsPerPeer bounds the listen addresses kept for one peer.
	MaxAddrsPerPeer = 8
	// AddrBookTTL: an entry neither connected nor learned again for this long
	// is dropped. Bootstrap and registered peers are kept four times longer.
	AddrBookTTL = 7 * 24 * time.Hour
	// maxAddrBookFile bounds the file read at start, before it is decoded.
	maxAddrBookFile = 8 << 20
	// addrBookVersion is the version of the file format.
	addrBookVersion = 1
)

// bookEntry is what the address book knows of one peer.
type bookEntry struct {
	ID     peer.ID  `json:"id"`
	Addrs  []string `json:"addrs"`  // listen multiaddrs without /p2p/
	Source string   `json:"source"` // how the peer was first found
	// Kept entries (bootstrap and registered peers) are redialled whatever the
	// number of connections, and never evicted to make room.
	Kept     bool      `json:"kept,omitempty"`
	Added    time.Time `json:"added"`
	LastSeen time.Time `json:"last_seen,omitzero"` // last time the node was connected to the peer
	// Record is the peer's signed peer record (a libp2p envelope), served to
	// other peers by the discovery protocol.
	Record []byte `json:"record,omitempty"`

	// Dial state, not persisted.
	failures int
	nextDial time.Time
}

// touched is the last time anything was learned about the entry.
func (e *bookEntry) touched() time.Time {
	if e.LastSeen.After(e.Added) {
		return e.LastSeen
	}
	return e.Added
}

type addrBookFile struct {
	Version int          `json:"version"`
	Peers   []*bookEntry `json:"peers"`
}

// addrBook is the node's bounded, persistent address book. It is safe for
// concurrent use.
type addrBook struct {
	path string
	log  *slog.Logger
	max  int

	mu      sync.Mutex
	entries map[peer.ID]*bookEntry
	dirty   bool
}

// openAddrBook loads the address book of dir. A missing file is an empty
// book; an unreadable or corrupt one is moved aside (with a warning) so that
// the node starts, and is not overwritten.
func openAddrBook(dir string, log *slog.Logger) *addrBook {
	b := &addrBook{path: filepath.Join(dir, AddrBookFile), log: log, max: MaxAddrBookEntries, entries: make(map[peer.ID]*bookEntry)}
	if err := b.load(time.Now()); err != nil {
		aside := b.path + ".corrupt"
		if rerr := os.Rename(b.path, aside); rerr != nil {
			log.Warn("address book unreadable; starting with an empty one", "path", b.path, "err", err, "rename_err", rerr)
		} else {
			log.Warn("address book unreadable; moved aside, starting with an empty one", "path", b.path, "moved_to", aside, "err", err)
		}
		b.entries = make(map[peer.ID]*bookEntry)
	}
	return b
}

func (b *addrBook) load(now time.Time) error {
	f, err := os.Open(b.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open address book: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAddrBookFile+1))
	if err != nil {
		return fmt.Errorf("read address book: %w", err)
	}
	if len(data) > maxAddrBookFile {
		return fmt.Errorf("address book is larger than %d bytes", maxAddrBookFile)
	}
	var file addrBookFile
	if err := json.Unmarshal(data, &file); err != nil {
		return fmt.Errorf("decode address book: %w", err)
	}
	if file.Version != addrBookVersion {
		return fmt.Errorf("address book version %d, want %d", file.Version, addrBookVersion)
	}
	for _, e := range file.Peers {
		if e == nil || e.ID.Validate() != nil {
			continue
		}
		e.Addrs = cleanAddrs(parseAddrs(e.Addrs))
		if len(e.Addrs) == 0 || b.expired(e, now) {
			continue
		}
		b.entries[e.ID] = e
		if len(b.entries) >= b.max {
			break
		}
	}
	return nil
}

func (b *addrBook) expired(e *bookEntry, now time.Time) bool {
	ttl := AddrBookTTL
	if e.Kept {
		ttl *= 4
	}
	return now.Sub(e.touched()) > ttl
}

// save writes the book if it changed: to a temporary file in the same
// directory, synced, then renamed over the old one, so that a crash leaves
// either the old or the new book.
func (b *addrBook) save() error {
	b.mu.Lock()
	if !b.dirty {
		b.mu.Unlock()
		return nil
	}
	file := addrBookFile{Version: addrBookVersion, Peers: make([]*bookEntry, 0, len(b.entries))}
	for _, e := range b.entries {
		c := *e
		file.Peers = append(file.Peers, &c)
	}
	b.dirty = false
	b.mu.Unlock()
	slices.SortFunc(file.Peers, func(x, y *bookEntry) int { return y.touched().Compare(x.touched()) })
	data, err := json.MarshalIndent(file, "", " ")
	if err != nil {
		return fmt.Errorf("encode address book: %w", err)
	}
	if err := writeFileAtomic(b.path, data, 0o600); err != nil {
		err = fmt.Errorf("write address book: %w", err)
		b.mu.Lock()
		b.dirty = true
		b.mu.Unlock()
		return err
	}
	return nil
}

// learn records addrs (and, when not nil, the signed record) of p, found by
// source. It reports whether p is new to the book.
func (b *addrBook) learn(p peer.ID, addrs []multiaddr.Multiaddr, source string, kept bool, rec []byte, now time.Time) bool {
	clean := cleanAddrs(addrs)
	if len(clean) == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dirty = true
	if e, ok := b.entries[p]; ok {
		e.Addrs = clean
		e.Kept = e.Kept || kept
		if sourceRank[source] > sourceRank[e.Source] {
			e.Source = source
		}
		if rec != nil {
			e.Record = rec
		}
		if e.Added.Before(now) {
			e.Added = now
		}
		return false
	}
	if len(b.entries) >= b.max && !b.evictLocked() {
		return false
	}
	b.entries[p] = &bookEntry{ID: p, Addrs: clean, Source: source, Kept: kept, Added: now, Record: rec}
	return true
}

// evictLocked drops the entry touched least recently that is not kept.
func (b *addrBook) evictLocked() bool {
	var victim *bookEntry
	for _, e := range b.entries {
		if !e.Kept && (victim == nil || e.touched().Before(victim.touched())) {
			victim = e
		}
	}
	if victim == nil {
		return false
	}
	delete(b.entries, victim.ID)
	return true
}

// seen marks the connected peers as seen now and clears their dial backoff.
func (b *addrBook) seen(peers []peer.ID, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range peers {
		if e, ok := b.entries[p]; ok {
			e.LastSeen = now
			e.failures = 0
			e.nextDial = time.Time{}
			b.dirty = true
		}
	}
}

// dialFailed backs off the next dial of p: min·2^failures up to max.
func (b *addrBook) dialFailed(p peer.ID, now time.Time, minDelay, maxDelay time.Duration) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[p]
	if !ok {
		return 0
	}
	e.failures++
	d := minDelay << min(e.failures-1, 20)
	if d > maxDelay || d <= 0 {
		d = maxDelay
	}
	e.nextDial = now.Add(jitter(d))
	return e.failures
}

// prune drops expired entries.
func (b *addrBook) prune(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, e := range b.entries {
		if b.expired(e, now) {
			delete(b.entries, id)
			b.dirty = true
		}
	}
}

// get returns a copy of p's entry.
func (b *addrBook) get(p peer.ID) (bookEntry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[p]
	if !ok {
		return bookEntry{}, false
	}
	return *e, true
}

func (b *addrBook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}

// dueEntries returns copies of the entries whose backoff has passed, in
// random order, so that connections spread over the whole book.
func (b *addrBook) dueEntries(now time.Time) []bookEntry {
	b.mu.Lock()
	out := make([]bookEntry, 0, len(b.entries))
	for _, e := range b.entries {
		if !now.Before(e.nextDial) {
			out = append(out, *e)
		}
	}
	b.mu.Unlock()
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// records returns up to max signed records of peers connected within fresh
// of now, other than except, in random order.
func (b *addrBook) records(now time.Time, fresh time.Duration, max int, except peer.ID) [][]byte {
	b.mu.Lock()
	var out [][]byte
	for _, e := range b.entries {
		if e.ID != except && e.Record != nil && !e.LastSeen.IsZero() && now.Sub(e.LastSeen) <= fresh {
			out = append(out, e.Record)
		}
	}
	b.mu.Unlock()
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// addrInfo is e as a dialable AddrInfo.
func (e bookEntry) addrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: e.ID, Addrs: parseAddrs(e.Addrs)}
}

func parseAddrs(ss []string) []multiaddr.Multiaddr {
	out := make([]multiaddr.Multiaddr, 0, len(ss))
	for _, s := range ss {
		if m, err := multiaddr.NewMultiaddr(s); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// cleanAddrs keeps the dialable addresses among addrs (no unspecified IP, no
// /p2p/ part of the peer itself; relayed addresses name their relay, see
// wellFormedRelayed), deduplicated, at most MaxAddrsPerPeer.
func cleanAddrs(addrs []multiaddr.Multiaddr) []string {
	var out []string
	for _, a := range addrs {
		if a == nil || len(out) >= MaxAddrsPerPeer {
			continue
		}
		if isRelayed(a) && !wellFormedRelayed(a) {
			continue
		}
		bare, _ := peer.SplitAddr(a)
		if bare == nil {
			continue
		}
		ip, err := manet.ToIP(bare)
		if err != nil || ip.IsUnspecified() {
			continue
		}
		if s := bare.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
