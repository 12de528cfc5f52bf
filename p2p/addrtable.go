package p2p

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// The address book's two tables, in the manner of Bitcoin Core's addrman.
// Learnt peers go to the "new" table, peers that the node dialled and that
// served go to the "tried" table. Both are split into buckets of a few
// slots; which bucket an entry goes to is a keyed hash of its address group
// (and, in the new table, of the group of the peer that handed it over), so
// that identities on few address ranges can only fill few buckets, and a
// full bucket evicts one of its own entries, never one elsewhere.
// PROTOCOL.md (11.2) documents the sizes.
const (
	newBucketCount   = 96
	newBucketSize    = 8
	triedBucketCount = 32
	triedBucketSize  = 8
	// newBucketsPerSourceGroup: the addresses handed over by the peers of
	// one address group reach at most this many new buckets, and those of
	// one address group from one source group at most newBucketsPerGroup
	// (32 slots: a LAN is one address group, and a dozen nodes on it must
	// all find room).
	newBucketsPerSourceGroup = 8
	newBucketsPerGroup       = 4
	// triedBucketsPerGroup: the tried peers of one address group occupy at
	// most this many tried buckets.
	triedBucketsPerGroup = 4
)

// addrGroup is the address group of a multiaddr: the IPv4 /16 or the IPv6
// /32 it belongs to. A loopback IPv4 address counts by its /24 (127.a.b), so
// that nodes on one machine can stand for distinct networks (tests listen on
// 127.0.1.x, 127.0.2.x, …: Linux routes all of 127/8 to lo); ::1 is one
// group. A relayed address counts by its relay's address.
func addrGroup(a multiaddr.Multiaddr) string {
	ip, err := manet.ToIP(a)
	if err != nil {
		return "other"
	}
	if v4 := ip.To4(); v4 != nil {
		if v4[0] == 127 {
			return fmt.Sprintf("127.%d.%d", v4[1], v4[2])
		}
		return fmt.Sprintf("%d.%d", v4[0], v4[1])
	}
	if ip.IsLoopback() {
		return "::1"
	}
	return fmt.Sprintf("%x:%x", []byte(ip[:2]), []byte(ip[2:4]))
}

// entryGroup is the group of a peer's addresses (cleanAddrs form): that of
// a public address if it has one, else a private, else a loopback one, the
// smallest group string among them, so that the choice does not depend on
// the order in which the peer lists its addresses.
func entryGroup(addrs []string) string {
	best, bestRank := "", 4
	for _, m := range parseAddrs(addrs) {
		rank := 2
		if ip, err := manet.ToIP(m); err == nil {
			switch {
			case ip.IsLoopback():
				rank = 3
			case manet.IsPublicAddr(m):
				rank = 1
			}
		}
		g := addrGroup(m)
		if rank < bestRank || rank == bestRank && g < best {
			best, bestRank = g, rank
		}
	}
	return best
}

// keyedHash hashes parts under the book's secret key.
func keyedHash(key []byte, parts ...string) uint64 {
	h := sha256.New()
	h.Write(key)
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// newBucket is the new-table bucket of peer id with an address of group,
// handed over by a peer of srcGroup.
func newBucket(key []byte, id, group, srcGroup string) int {
	spread := keyedHash(key, "new-spread", id) % newBucketsPerGroup
	slot := (keyedHash(key, "new-slot", group, srcGroup) + spread) % newBucketsPerSourceGroup
	return int(keyedHash(key, "new", srcGroup, fmt.Sprint(slot)) % newBucketCount)
}

// triedBucket is the tried-table bucket of peer id with an address of group.
func triedBucket(key []byte, id, group string) int {
	slot := keyedHash(key, "tried-slot", id) % triedBucketsPerGroup
	return int(keyedHash(key, "tried", group, fmt.Sprint(slot)) % triedBucketCount)
}

// table is one of the two tables: buckets of at most size entries.
type table struct {
	buckets [][]*bookEntry
	size    int
}

func newTable(count, size int) table {
	return table{buckets: make([][]*bookEntry, count), size: size}
}

// worst returns the entry of bucket b that is worth least, or nil when the
// bucket has a free slot.
func (t *table) worst(b int, worse func(x, y *bookEntry) bool) *bookEntry {
	bucket := t.buckets[b]
	if len(bucket) < t.size {
		return nil
	}
	victim := bucket[0]
	for _, x := range bucket[1:] {
		if worse(x, victim) {
			victim = x
		}
	}
	return victim
}

// put adds e to bucket b, which has a free slot.
func (t *table) put(e *bookEntry, b int) {
	e.bucket = b
	t.buckets[b] = append(t.buckets[b], e)
}

// remove takes e out of its bucket.
func (t *table) remove(e *bookEntry) {
	bucket := t.buckets[e.bucket]
	if i := slices.Index(bucket, e); i >= 0 {
		t.buckets[e.bucket] = slices.Delete(bucket, i, i+1)
	}
}

// count is the number of entries in the table.
func (t *table) count() int {
	n := 0
	for _, b := range t.buckets {
		n += len(b)
	}
	return n
}

// worseNew orders the new table's entries for eviction: one that failed to
// answer goes first, then one only seen inbound, then the least recently
// learnt or seen.
func worseNew(x, y *bookEntry) bool {
	if (x.failures > 0) != (y.failures > 0) {
		return x.failures > 0
	}
	if x.InboundOnly != y.InboundOnly {
		return x.InboundOnly
	}
	return x.touched().Before(y.touched())
}

// worseTried orders the tried table's entries for eviction: the one that
// served least recently goes back to the new table.
func worseTried(x, y *bookEntry) bool {
	return x.LastServed.Before(y.LastServed)
}

// spreadByGroup orders entries so that consecutive ones come from different
// groups: one entry of each group in turn, the groups in the order of their
// first entry, groups in avoid after all others.
func spreadByGroup(entries []*bookEntry, avoid map[string]bool) []*bookEntry {
	var order []string
	byGroup := make(map[string][]*bookEntry)
	for _, e := range entries {
		if _, ok := byGroup[e.group]; !ok {
			order = append(order, e.group)
		}
		byGroup[e.group] = append(byGroup[e.group], e)
	}
	slices.SortStableFunc(order, func(a, b string) int {
		switch {
		case avoid[a] == avoid[b]:
			return 0
		case avoid[a]:
			return 1
		}
		return -1
	})
	out := make([]*bookEntry, 0, len(entries))
	for len(out) < len(entries) {
		for _, g := range order {
			if es := byGroup[g]; len(es) > 0 {
				out = append(out, es[0])
				byGroup[g] = es[1:]
			}
		}
	}
	return out
}
