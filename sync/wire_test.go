package sync

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
)

func TestStatusEncoding(t *testing.T) {
	st := Status{Genesis: randomHash(), Head: randomHash(), Height: 12345, Work: new(big.Int).Lsh(big.NewInt(3), 130)}
	enc := appendStatus(nil, st)
	if len(enc) != statusSize {
		t.Fatalf("encoded status is %d bytes, want %d", len(enc), statusSize)
	}
	if got := binary.BigEndian.Uint64(enc[64:72]); got != 12345 {
		t.Fatalf("height bytes decode to %d", got)
	}
	got, err := decodeStatus(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Genesis != st.Genesis || got.Head != st.Head || got.Height != st.Height || got.Work.Cmp(st.Work) != 0 {
		t.Fatalf("round trip: got %+v, want %+v", got, st)
	}
	for _, n := range []int{0, statusSize - 1, statusSize + 1} {
		if _, err := decodeStatus(make([]byte, n)); err == nil {
			t.Errorf("decodeStatus of %d bytes: no error", n)
		}
	}
}

func TestRequestEncoding(t *testing.T) {
	loc := []chain.Hash{randomHash(), randomHash(), randomHash()}
	enc := appendRequest(nil, blockRequest{Locator: loc, Max: 500})
	if want := 2 + 3*32 + 4; len(enc) != want {
		t.Fatalf("request is %d bytes, want %d", len(enc), want)
	}
	got, err := decodeRequest(enc)
	if err != nil || got.Max != 500 || len(got.Locator) != 3 || got.Locator[2] != loc[2] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	bad := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"no hashes", appendRequest(nil, blockRequest{Max: 1})},
		{"65 hashes", appendRequest(nil, blockRequest{Locator: make([]chain.Hash, 65), Max: 1})},
		{"zero blocks", appendRequest(nil, blockRequest{Locator: loc, Max: 0})},
		{"501 blocks", appendRequest(nil, blockRequest{Locator: loc, Max: 501})},
		{"truncated", enc[:len(enc)-1]},
		{"trailing byte", append(append([]byte(nil), enc...), 0)},
	}
	for _, c := range bad {
		if _, err := decodeRequest(c.body); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for _, body := range [][]byte{[]byte("hello"), nil, bytes.Repeat([]byte{7}, 300)} {
		if err := writeFrame(w, body); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if !bytes.Equal(buf.Bytes()[:6], append([]byte{5}, "hello"...)) {
		t.Fatalf("first frame is %x", buf.Bytes()[:6])
	}
	r := bufio.NewReader(&buf)
	for _, want := range []int{5, 0, 300} {
		body, err := readFrame(r, nil, 300)
		if err != nil || len(body) != want {
			t.Fatalf("frame: %d bytes, %v; want %d", len(body), err, want)
		}
	}
	if _, err := readFrame(r, nil, 300); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
	r = bufio.NewReader(bytes.NewReader(appendFrame(nil, make([]byte, 301))))
	if _, err := readFrame(r, nil, 300); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
	r = bufio.NewReader(bytes.NewReader(bytes.Repeat([]byte{0xff}, 11)))
	if _, err := readFrame(r, nil, 300); err == nil {
		t.Fatalf("overlong uvarint: no error")
	}
}

func TestWithTip(t *testing.T) {
	tip := randomHash()
	short := []chain.Hash{randomHash(), randomHash()}
	if got := withTip(tip, short); len(got) != 3 || got[0] != tip || got[2] != short[1] {
		t.Fatalf("short locator: %v", got)
	}
	full := make([]chain.Hash, MaxLocatorHashes)
	for i := range full {
		full[i] = randomHash()
	}
	got := withTip(tip, full)
	if len(got) != MaxLocatorHashes || got[0] != tip || got[1] != full[0] || got[len(got)-1] != full[len(full)-1] {
		t.Fatalf("full locator: %d hashes, first %s, last %s", len(got), got[0], got[len(got)-1])
	}
}

func TestOrphanPool(t *testing.T) {
	params := testParams(t, testNetwork, 0)
	chainA := buildBlocks(t, params, params.Genesis(), 5, "a")
	now := time.Now()
	op := newOrphanPool(orphanLimits{count: 3, bytes: 1 << 20, perPeer: 3}, time.Minute)
	from := peer.ID("p")

	// Bounded in count: the oldest makes room.
	for i, b := range chainA[1:] { // heights 3..6, all orphans
		if !op.add(b, from, now.Add(time.Duration(i)*time.Second), time.Time{}) {
			t.Fatalf("add %d: not new", i)
		}
	}
	if op.add(chainA[4], from, now, time.Time{}) {
		t.Fatalf("duplicate added")
	}
	if op.len() != 3 || op.has(chainA[1].Hash) {
		t.Fatalf("pool holds %d, oldest kept: %v", op.len(), op.has(chainA[1].Hash))
	}
	// Ready only once the parent is known, lowest index first, children
	// following on the next call.
	known := map[chain.Hash]bool{chainA[1].Hash: true}
	has := func(h chain.Hash) bool { return known[h] }
	ready := op.takeReady(has, now)
	if len(ready) != 1 || ready[0].block != chainA[2] {
		t.Fatalf("ready: %d", len(ready))
	}
	known[chainA[2].Hash] = true
	if ready = op.takeReady(has, now); len(ready) != 1 || ready[0].block != chainA[3] {
		t.Fatalf("second round: %d", len(ready))
	}
	// Bounded in age.
	op.expire(now.Add(2 * time.Minute))
	if op.len() != 0 {
		t.Fatalf("%d orphans survived expiry", op.len())
	}
	if len(op.byParent) != 0 {
		t.Fatalf("parent index not emptied: %d", len(op.byParent))
	}
}

// TestOrphanPoolBounds: a peer over its share loses its own oldest orphan,
// a pool full in bytes loses the oldest orphan of the peer holding the most
// bytes, and a block due later is not ready before its time.
func TestOrphanPoolBounds(t *testing.T) {
	params := testParams(t, testNetwork, 0)
	blocks := buildBlocks(t, params, params.Genesis(), 12, "a")
	size := blocks[0].BinarySize()
	now := time.Now()
	op := newOrphanPool(orphanLimits{count: 100, bytes: 6*size + size/2, perPeer: 4}, time.Hour)
	at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Millisecond) }

	// The flooder's share: 4 blocks, its oldest goes first.
	for i := 0; i < 6; i++ {
		op.add(blocks[i], "flood", at(i), time.Time{})
	}
	if op.len() != 4 || op.has(blocks[0].Hash) || op.has(blocks[1].Hash) || !op.has(blocks[5].Hash) {
		t.Fatalf("flooder holds %d; oldest kept: %v %v", op.len(), op.has(blocks[0].Hash), op.has(blocks[1].Hash))
	}
	// Two honest blocks fill the pool's bytes (6 blocks); a third evicts
	// from the flooder, the largest, not from the honest peer.
	op.add(blocks[6], "honest", at(6), time.Time{})
	op.add(blocks[7], "honest", at(7), time.Time{})
	op.add(blocks[8], "other", at(8), time.Time{})
	if op.size() > 6*size+size/2 {
		t.Fatalf("pool holds %d bytes, limit %d", op.size(), 6*size+size/2)
	}
	for _, i := range []int{6, 7, 8} {
		if !op.has(blocks[i].Hash) {
			t.Fatalf("honest orphan %d evicted", i)
		}
	}
	if op.has(blocks[2].Hash) {
		t.Fatalf("the flooder's oldest orphan was kept")
	}
	// A block due later waits for its time even with its parent known.
	op.add(blocks[10], "p", at(10), now.Add(time.Second))
	has := func(h chain.Hash) bool { return h == blocks[9].Hash }
	if r := op.takeReady(has, now); len(r) != 0 || !op.hasFuture() {
		t.Fatalf("future block ready early: %d", len(r))
	}
	if r := op.takeReady(has, now.Add(time.Second)); len(r) != 1 || r[0].block != blocks[10] || op.hasFuture() {
		t.Fatalf("future block not ready on time: %d", len(r))
	}
}

// FuzzDecodeRequest: no input makes the request decoder panic, and every
// accepted request is within limits and re-encodes to the same bytes.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(appendRequest(nil, blockRequest{Locator: []chain.Hash{{1}}, Max: 10}))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(b)
		if err != nil {
			return
		}
		if len(r.Locator) < 1 || len(r.Locator) > MaxLocatorHashes || r.Max < 1 || r.Max > MaxBlocksPerRequest {
			t.Fatalf("out of limits: %d hashes, max %d", len(r.Locator), r.Max)
		}
		if !bytes.Equal(appendRequest(nil, r), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
