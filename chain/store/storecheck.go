package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
)

// Before bbolt maps a store file, Open reads the file's two meta pages
// itself: bbolt trusts them, and some damage (a truncated file, a page
// number past the end) makes it fault or panic, in some cases on a
// goroutine of its own where no recover can catch it. What the check
// refuses gets an error naming the file and what to do.

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltNoFreelist  = ^uint64(0)
	boltPageHeader  = 16
	boltMetaSize    = 64
	boltBranchPage  = 0x01
	boltLeafPage    = 0x02
	boltFreelistPag = 0x10
)

// boltMeta is the part of a bbolt meta page the check reads.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // the high-water mark: pages in use
	txid     uint64
}

// storeFileInfo is what checkStoreFile learnt.
type storeFileInfo struct {
	// needsRewrite: the file has no free-page list, which format 1 stores
	// never wrote; bbolt would rebuild it by walking every page (where
	// damage panics), so the store is read read-only and rewritten.
	needsRewrite bool
	// exists: the file is there and not empty.
	exists bool
	// unused is the meta page bbolt will pass over, damaged or stale, or
	// nil when both are sound: the store may have lost its last commit
	// (see rollback.go).
	unused *unusedMeta
}

// unusedMeta is a meta page bbolt passes over in favour of the other.
type unusedMeta struct {
	page   int    // 0 or 1
	reason string // what is wrong with it: "damaged (...)" or "stale (...)"
	txid   uint64 // the transaction of the page bbolt uses
}

// damagedError says that the store file at path cannot be used.
func damagedError(path string, err error) error {
	return fmt.Errorf("open store %s: the file is damaged: %w; restore it from a backup, or move it away to sync the chain again from the network (its pending transactions are then lost)", path, err)
}

// checkStoreFile checks the file at path before bbolt opens it. A missing
// file is fine (a new store). An empty one is refused when refuseNew is
// set.
func checkStoreFile(path string, refuseNew bool) (storeFileInfo, error) {
	var info storeFileInfo
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return info, nil
	}
	if err != nil {
		return info, fmt.Errorf("open store %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, fmt.Errorf("open store %s: %w", path, err)
	}
	size := st.Size()
	if size == 0 {
		if refuseNew {
			return info, fmt.Errorf("open store %s: the file is empty, but this data directory belongs to a node that has run before (it holds its identity key), so the chain and pending transactions it held are lost; restore chain.db from a backup, or delete it to sync the chain again from the network", path)
		}
		return info, nil
	}
	head := make([]byte, min(size, 128<<10))
	if _, err := io.ReadFull(f, head); err != nil {
		return info, fmt.Errorf("open store %s: %w", path, err)
	}
	m, unused, err := readMetas(head)
	if err != nil {
		return info, damagedError(path, err)
	}
	info.unused = unused
	info.exists = true
	ps := int64(m.pageSize)
	switch {
	case size < 2*ps:
		return info, damagedError(path, fmt.Errorf("truncated: %d bytes, less than its two meta pages", size))
	case int64(m.pgid) > size/ps:
		return info, damagedError(path, fmt.Errorf("truncated: %d bytes hold %d pages, its meta page says %d are in use", size, size/ps, m.pgid))
	case m.root < 2 || m.root >= m.pgid:
		return info, damagedError(path, fmt.Errorf("the root page %d is outside the %d pages in use", m.root, m.pgid))
	case m.freelist != boltNoFreelist && (m.freelist < 2 || m.freelist >= m.pgid):
		return info, damagedError(path, fmt.Errorf("the free-page list page %d is outside the %d pages in use", m.freelist, m.pgid))
	}
	if err := checkPageHeader(f, ps, m.root, boltBranchPage|boltLeafPage); err != nil {
		return info, damagedError(path, fmt.Errorf("root page: %w", err))
	}
	if m.freelist == boltNoFreelist {
		info.needsRewrite = true
		return info, nil
	}
	if err := checkPageHeader(f, ps, m.freelist, boltFreelistPag); err != nil {
		return info, damagedError(path, fmt.Errorf("free-page list: %w", err))
	}
	return info, nil
}

// chooseMeta parses both meta pages and returns the valid one with the
// higher transaction id, as bbolt does.
func chooseMeta(head []byte) (boltMeta, error) {
	m, _, err := readMetas(head)
	return m, err
}

// readMetas parses both meta pages and returns the one bbolt uses: the
// valid one with the higher transaction id. When bbolt passes over the
// other, it says which and why: damaged, or stale (each commit writes the
// page the previous one did not, so the two are one transaction apart).
func readMetas(head []byte) (boltMeta, *unusedMeta, error) {
	m0, err0 := parseMeta(head, 0)
	sizes := []int{4096, 8192, 16384, 32768, 65536}
	if err0 == nil {
		sizes = []int{int(m0.pageSize)}
	}
	var m1 boltMeta
	err1 := errors.New("no second meta page")
	for _, ps := range sizes {
		if m1, err1 = parseMeta(head, ps); err1 == nil {
			break
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		return m0, nil, fmt.Errorf("not a bbolt store, or both meta pages are damaged (%v; %v)", err0, err1)
	case err0 != nil:
		return m1, &unusedMeta{page: 0, reason: damagedMeta(err0), txid: m1.txid}, nil
	case err1 != nil:
		return m0, &unusedMeta{page: 1, reason: damagedMeta(err1), txid: m0.txid}, nil
	}
	best, other, page := m0, m1, 1
	if m1.txid > m0.txid {
		best, other, page = m1, m0, 0
	}
	if best.txid-other.txid != 1 {
		reason := fmt.Sprintf("stale (transaction %d, the other page's is %d)", other.txid, best.txid)
		return best, &unusedMeta{page: page, reason: reason, txid: best.txid}, nil
	}
	return best, nil, nil
}

// damagedMeta describes a meta page that parseMeta refused with err.
func damagedMeta(err error) string {
	_, why, _ := strings.Cut(err.Error(), ": ")
	return "damaged (" + why + ")"
}

// parseMeta reads the meta page at offset off of head.
func parseMeta(head []byte, off int) (boltMeta, error) {
	var m boltMeta
	if off+boltPageHeader+boltMetaSize > len(head) {
		return m, fmt.Errorf("meta page at %d: file too short", off)
	}
	b := head[off+boltPageHeader : off+boltPageHeader+boltMetaSize]
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != boltMagic {
		return m, fmt.Errorf("meta page at %d: bad magic", off)
	}
	if le.Uint32(b[4:]) != boltVersion {
		return m, fmt.Errorf("meta page at %d: bbolt version %d", off, le.Uint32(b[4:]))
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if h.Sum64() != le.Uint64(b[56:]) {
		return m, fmt.Errorf("meta page at %d: bad checksum", off)
	}
	m.pageSize = le.Uint32(b[8:])
	m.root = le.Uint64(b[16:])
	m.freelist = le.Uint64(b[32:])
	m.pgid = le.Uint64(b[40:])
	m.txid = le.Uint64(b[48:])
	if m.pageSize < 1024 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 {
		return m, fmt.Errorf("meta page at %d: page size %d", off, m.pageSize)
	}
	return m, nil
}

// checkPageHeader checks that page id carries its own id and one of the
// flags in want.
func checkPageHeader(f *os.File, pageSize int64, id uint64, want uint16) error {
	var hdr [boltPageHeader]byte
	if _, err := f.ReadAt(hdr[:], int64(id)*pageSize); err != nil {
		return fmt.Errorf("page %d: %w", id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(hdr[0:]); got != id {
		return fmt.Errorf("page %d is marked as page %d", id, got)
	}
	if flags := le.Uint16(hdr[8:]); flags&want == 0 || flags&^want != 0 {
		return fmt.Errorf("page %d has type %#x", id, flags)
	}
	return nil
}
