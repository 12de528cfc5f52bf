package p2p

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
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
	// MaxAddrBookEntries bounds the learnt peers the address book remembers:
	// the slots of its new and tried tables (addrtable.go). A full bucket
	// evicts one of its own entries.
	MaxAddrBookEntries = newBucketCount*newBucketSize + triedBucketCount*triedBucketSize
	// MaxKeptEntries bounds the bootstrap and registered peers, which live
	// outside the tables and are never evicted.
	MaxKeptEntries = 256
	// MaxAnchors is the number of outbound peers that served, saved at
	// shutdown and redialled first at the next start.
	MaxAnchors = 2
	// MaxAddrsPerPeer bounds the listen addresses kept for one peer.
	MaxAddrsPerPeer = 8
	// AddrBookTTL: an entry neither connected nor learned again for this long
	// is dropped. Bootstrap and registered peers are kept four times longer.
	AddrBookTTL = 7 * 24 * time.Hour
	// maxAddrBookFile bounds the file read at start, before it is decoded.
	maxAddrBookFile = 8 << 20
	// addrBookVersion is the version of the file format. Version 1 had no
	// tables, key or anchors; it is read and rewritten as version 2.
	addrBookVersion = 2
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
	// Tried: the node dialled the peer and it served (answered a request);
	// the entry is in the tried table. LastServed is when it last did.
	Tried      bool      `json:"tried,omitempty"`
	LastServed time.Time `json:"last_served,omitzero"`
	// InboundOnly: the peer is known only because it connected to this
	// node. Its record is handed out by peer exchange, but the node does not
	// dial it from the book until it is learnt otherwise.
	InboundOnly bool `json:"inbound_only,omitempty"`
	// SourceGroup is the address group of the peer that handed the entry
	// over (its own group for a peer learnt from itself).
	SourceGroup string `json:"source_group,omitempty"`

	// Not persisted: the group of Addrs, the bucket in its table, dial state.
	group    string
	bucket   int
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
	Version int `json:"version"`
	// Key is the secret that places entries in buckets, hex; an attacker who
	// does not know it cannot aim at one bucket.
	Key     string       `json:"key,omitempty"`
	Anchors []peer.ID    `json:"anchors,omitempty"`
	Peers   []*bookEntry `json:"peers"`
}

// addrBook is the node's bounded, persistent address book. It is safe for
// concurrent use.
type addrBook struct {
	path string
	log  *slog.Logger

	mu         sync.Mutex
	key        []byte
	entries    map[peer.ID]*bookEntry
	newTable   table
	triedTable table
	kept       int
	anchors    []peer.ID
	dirty      bool
}

func newAddrBook(path string, log *slog.Logger) *addrBook {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &addrBook{
		path: path, log: log, key: key,
		entries:    make(map[peer.ID]*bookEntry),
		newTable:   newTable(newBucketCount, newBucketSize),
		triedTable: newTable(triedBucketCount, triedBucketSize),
	}
}

// openAddrBook loads the address book of dir. A missing file is an empty
// book; an unreadable or corrupt one is moved aside (with a warning) so that
// the node starts, and is not overwritten.
func openAddrBook(dir string, log *slog.Logger) *addrBook {
	path := filepath.Join(dir, AddrBookFile)
	b := newAddrBook(path, log)
	if err := b.load(time.Now()); err != nil {
		aside := b.path + ".corrupt"
		if rerr := os.Rename(b.path, aside); rerr != nil {
			log.Warn("address book unreadable; starting with an empty one", "path", b.path, "err", err, "rename_err", rerr)
		} else {
			log.Warn("address book unreadable; moved aside, starting with an empty one", "path", b.path, "moved_to", aside, "err", err)
		}
		b = newAddrBook(path, log)
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
	switch file.Version {
	case 1:
		// Version 1 learnt every identified peer, inbound ones too, with the
		// source "unknown": such entries are not dialled until learnt again.
		for _, e := range file.Peers {
			if e != nil && (e.Source == SourceUnknown || e.Source == SourceInbound) {
				e.InboundOnly = true
			}
		}
		b.log.Info("address book migrated from version 1: learnt peers start in the new table", "path", b.path, "peers", len(file.Peers))
		b.dirty = true
	case addrBookVersion:
		if key, err := hex.DecodeString(file.Key); err == nil && len(key) == 32 {
			b.key = key
		} else {
			b.dirty = true
		}
	default:
		return fmt.Errorf("address book version %d, want %d", file.Version, addrBookVersion)
	}
	// Tried entries first, so that they keep their places.
	slices.SortStableFunc(file.Peers, func(x, y *bookEntry) int {
		return boolOrder(x != nil && x.Tried, y != nil && y.Tried)
	})
	for _, e := range file.Peers {
		if e == nil || e.ID.Validate() != nil || b.entries[e.ID] != nil {
			continue
		}
		e.Addrs = cleanAddrs(parseAddrs(e.Addrs))
		if len(e.Addrs) == 0 || b.expired(e, now) || e.Kept && b.kept >= MaxKeptEntries {
			continue
		}
		b.insertLocked(e, now)
	}
	for _, id := range file.Anchors {
		if e := b.entries[id]; e != nil && e.Tried && len(b.anchors) < MaxAnchors {
			b.anchors = append(b.anchors, id)
		}
	}
	return nil
}

// boolOrder sorts true before false.
func boolOrder(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return -1
	}
	return 1
}

func (b *addrBook) expired(e *bookEntry, now time.Time) bool {
	ttl := AddrBookTTL
	if e.Kept {
		ttl *= 4
	}
	return now.Sub(e.touched()) > ttl
}

// staleNew: a new-table entry not learnt again or seen for this long makes
// room in a full bucket.
const staleNew = 24 * time.Hour

// insertLocked adds e, not yet in the book, to its table (or to the kept
// entries). It reports false when e's new bucket is full of entries worth
// more (see replaceable).
func (b *addrBook) insertLocked(e *bookEntry, now time.Time) bool {
	e.group = entryGroup(e.Addrs)
	switch {
	case e.Kept:
		b.kept++
	case e.Tried:
		tb := triedBucket(b.key, string(e.ID), e.group)
		if back := b.triedTable.worst(tb, worseTried); back != nil {
			// As in addrman, the tried peer that served least recently
			// goes back to the new table.
			b.triedTable.remove(back)
			back.Tried = false
			b.dropAnchor(back.ID)
			b.placeNewLocked(back, now, true)
		}
		b.triedTable.put(e, tb)
	default:
		if !b.placeNewLocked(e, now, false) {
			return false
		}
	}
	b.entries[e.ID] = e
	return true
}

// placeNewLocked puts e in its new bucket. In a full bucket, the entry worth
// least leaves the book when it is replaceable by e or force is set;
// otherwise e is not placed.
func (b *addrBook) placeNewLocked(e *bookEntry, now time.Time, force bool) bool {
	nb := newBucket(b.key, string(e.ID), e.group, e.SourceGroup)
	if out := b.newTable.worst(nb, worseNew); out != nil {
		if !force && !replaceable(out, e, now) {
			return false
		}
		b.newTable.remove(out)
		delete(b.entries, out.ID)
	}
	b.newTable.put(e, nb)
	return true
}

// replaceable reports whether old, the entry worth least in a full new
// bucket, makes room for e: it failed to answer, it is known only inbound
// while e is not, or nothing was heard of it for staleNew.
func replaceable(old, e *bookEntry, now time.Time) bool {
	return old.failures > 0 || old.InboundOnly && !e.InboundOnly || now.Sub(old.touched()) > staleNew
}

// removeLocked takes e out of the book.
func (b *addrBook) removeLocked(e *bookEntry) {
	delete(b.entries, e.ID)
	switch {
	case e.Kept:
		b.kept--
	case e.Tried:
		b.triedTable.remove(e)
		b.dropAnchor(e.ID)
	default:
		b.newTable.remove(e)
	}
}

func (b *addrBook) dropAnchor(p peer.ID) {
	b.anchors = slices.DeleteFunc(b.anchors, func(id peer.ID) bool { return id == p })
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
	file := addrBookFile{Version: addrBookVersion, Key: hex.EncodeToString(b.key),
		Anchors: slices.Clone(b.anchors), Peers: make([]*bookEntry, 0, len(b.entries))}
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
// source; srcGroup is the address group of the peer that handed them over
// ("" for the node's own configuration). A peer learnt only from its inbound
// connection (source SourceInbound) is kept to be handed out by peer
// exchange, not dialled. It reports whether p is new to the book.
func (b *addrBook) learn(p peer.ID, addrs []multiaddr.Multiaddr, source, srcGroup string, kept bool, rec []byte, now time.Time) bool {
	clean := cleanAddrs(addrs)
	if len(clean) == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	inbound := source == SourceInbound
	if e, ok := b.entries[p]; ok {
		b.dirty = true
		if sourceRank[source] > sourceRank[e.Source] {
			e.Source = source
		}
		if rec != nil {
			e.Record = rec
		}
		if e.Added.Before(now) {
			e.Added = now
		}
		e.InboundOnly = e.InboundOnly && inbound
		regroup := !e.Kept && entryGroup(clean) != e.group
		promote := kept && !e.Kept && b.kept < MaxKeptEntries
		e.Addrs = clean
		if regroup || promote {
			b.removeLocked(e)
			e.Kept = e.Kept || promote
			b.insertLocked(e, now)
		}
		return false
	}
	if kept && b.kept >= MaxKeptEntries {
		return false
	}
	e := &bookEntry{ID: p, Addrs: clean, Source: source, Kept: kept, Added: now, Record: rec,
		InboundOnly: inbound, SourceGroup: srcGroup}
	if inbound || srcGroup == "" { // learnt from the peer itself
		e.SourceGroup = entryGroup(clean)
	}
	if !b.insertLocked(e, now) {
		return false
	}
	b.dirty = true
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

// served records that p, which the node dialled, answered a request: it
// moves to the tried table (a kept entry stays where it is).
func (b *addrBook) served(p peer.ID, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[p]
	if !ok {
		return
	}
	b.dirty = true
	e.LastServed = now
	e.InboundOnly = false
	if e.Tried || e.Kept {
		e.Tried = true
		return
	}
	b.newTable.remove(e)
	e.Tried = true
	b.insertLocked(e, now)
}

// setAnchors records, among the peers given (the outbound connections),
// the MaxAnchors that served most recently, to be dialled first after a
// restart.
func (b *addrBook) setAnchors(outbound []peer.ID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var served []*bookEntry
	for _, p := range outbound {
		if e := b.entries[p]; e != nil && e.Tried {
			served = append(served, e)
		}
	}
	slices.SortFunc(served, func(x, y *bookEntry) int { return y.LastServed.Compare(x.LastServed) })
	anchors := make([]peer.ID, 0, MaxAnchors)
	for _, e := range served[:min(len(served), MaxAnchors)] {
		anchors = append(anchors, e.ID)
	}
	if !slices.Equal(anchors, b.anchors) {
		b.anchors = anchors
		b.dirty = true
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
	for _, e := range b.entries {
		if b.expired(e, now) {
			b.removeLocked(e)
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

// dueEntries returns copies of the entries to dial whose backoff has
// passed, best first: the anchors, the kept entries, then the tried table
// and last the new table, each spread across address groups (groups of the
// connected peers last) and shuffled within a group. Peers known only
// inbound are not among them.
func (b *addrBook) dueEntries(now time.Time, connected ...peer.ID) []bookEntry {
	b.mu.Lock()
	avoid := make(map[string]bool)
	for _, p := range connected {
		if e := b.entries[p]; e != nil {
			avoid[e.group] = true
		}
	}
	var anchors, kept, tried, fresh []*bookEntry
	for _, e := range b.entries {
		switch {
		case e.InboundOnly || now.Before(e.nextDial):
		case slices.Contains(b.anchors, e.ID):
			anchors = append(anchors, e)
		case e.Kept:
			kept = append(kept, e)
		case e.Tried:
			tried = append(tried, e)
		default:
			fresh = append(fresh, e)
		}
	}
	for _, es := range [][]*bookEntry{kept, tried, fresh} {
		mrand.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	}
	slices.SortFunc(anchors, func(x, y *bookEntry) int {
		return slices.Index(b.anchors, x.ID) - slices.Index(b.anchors, y.ID)
	})
	ordered := slices.Concat(anchors, kept, spreadByGroup(tried, avoid), spreadByGroup(fresh, avoid))
	out := make([]bookEntry, len(ordered))
	for i, e := range ordered {
		out[i] = *e
	}
	b.mu.Unlock()
	return out
}

// bookCounts is how the book's entries are spread.
type bookCounts struct {
	Tried, New, InboundOnly, Kept int
}

func (b *addrBook) counts() bookCounts {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := bookCounts{Tried: b.triedTable.count(), New: b.newTable.count(), Kept: b.kept}
	for _, e := range b.entries {
		if e.InboundOnly {
			c.InboundOnly++
		}
	}
	return c
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
	mrand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
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
