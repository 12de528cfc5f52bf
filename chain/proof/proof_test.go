package proof_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
	"github.com/gossipchain/gossipchain/chain/merkle"
	"github.com/gossipchain/gossipchain/chain/proof"
	"github.com/gossipchain/gossipchain/chain/smt"
)

// TestSizes checks the largest sizes against those PROTOCOL.md 13 states.
func TestSizes(t *testing.T) {
	if proof.MaxTxProofSize != 844 || proof.MaxAccountProofSize != 8498 {
		t.Fatalf("largest proofs %d and %d bytes, want 844 and 8498", proof.MaxTxProofSize, proof.MaxAccountProofSize)
	}
	for n := uint64(1); n <= 2048; n++ {
		for _, m := range []uint64{0, n / 2, n - 1} {
			if got := proof.PathLen(m, n); got > proof.MaxPathLen {
				t.Fatalf("PathLen(%d, %d) = %d, more than %d", m, n, got, proof.MaxPathLen)
			}
		}
	}
}

// txBlock is a block's header over n ids, one of them a real transaction.
type txBlock struct {
	ids    []merkle.Hash
	header []byte
	tx     chain.Transaction // at index at
	at     int
}

// newTxBlock returns a block of n random ids whose leaf at is tx.
func newTxBlock(r *rand.Rand, n, at int, tx chain.Transaction) txBlock {
	b := txBlock{ids: make([]merkle.Hash, n), tx: tx, at: at}
	for i := range b.ids {
		for j := range b.ids[i] {
			b.ids[i][j] = byte(r.Uint32())
		}
	}
	b.ids[at] = merkle.Hash(tx.ID)
	blk := chain.Block{Index: uint64(2 + r.IntN(1000)), TxRoot: chain.Hash(merkle.Root(b.ids)), TxCount: uint64(n), Bits: 0x207fffff}
	h := blk.Header()
	b.header = h[:]
	return b
}

// proofOf returns the proof of leaf m of b (which holds b.tx at b.at).
func (b txBlock) proofOf(t testing.TB, m int) proof.Tx {
	t.Helper()
	path, err := merkle.InclusionProof(m, b.ids)
	if err != nil {
		t.Fatal(err)
	}
	return proof.Tx{Header: b.header, Index: uint32(m), Tx: b.tx.AppendBinary(nil), Path: path}
}

// mustRefuse checks that enc is refused: verify fails with ErrBadProof,
// or the header it checked against is not the block's (want), which a
// caller who follows the header chain refuses.
func mustRefuse(t *testing.T, what string, enc []byte, want chain.Hash, verify func([]byte) (chain.Block, error)) {
	t.Helper()
	hdr, err := verify(enc)
	if err == nil && hdr.Hash != want {
		return
	}
	if !errors.Is(err, proof.ErrBadProof) {
		t.Fatalf("%s: %v, want ErrBadProof or another header", what, err)
	}
}

// TestTxProofProperty builds blocks of 1..2000 random ids and checks that
// the proof of the one real transaction verifies, round-trips its one
// encoding, and that every forgery is refused: any byte changed, another
// index, another tx_count, another block's header, a cut or extended
// encoding, and a transaction the block does not hold.
func TestTxProofProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 5, 7, 8, 9, 255, 256, 257, 1000, 2000}
	for range 8 {
		sizes = append(sizes, 1+r.IntN(2000))
	}
	for _, n := range sizes {
		at := r.IntN(n)
		tx := chaintest.Tx(fmt.Sprintf("sender-%d", n), "recipient", uint64(1+r.IntN(100)), uint64(n))
		b := newTxBlock(r, n, at, tx)
		p := b.proofOf(t, at)
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		verify := func(enc []byte) (chain.Block, error) {
			p, err := proof.DecodeTx(enc)
			if err != nil {
				return chain.Block{}, err
			}
			return p.Verify(tx.ID)
		}
		want := chain.Hash(sha256.Sum256(b.header))
		if _, err := verify(enc); err != nil {
			t.Fatalf("n=%d m=%d: %v", n, at, err)
		}
		if any, err := proof.Decode(enc); err != nil {
			t.Fatalf("n=%d: Decode: %v", n, err)
		} else if again, _ := any.(proof.Tx).MarshalBinary(); string(again) != string(enc) {
			t.Fatalf("n=%d: the decoded proof encodes differently", n)
		}
		hdr, _ := p.Verify(tx.ID)
		if hdr.TxCount != uint64(n) || hdr.Hash != want {
			t.Fatalf("n=%d: Verify returned header %+v", n, hdr)
		}

		// Every byte, a bit at a time (a sample of positions for large
		// proofs, the header and the index and lengths always).
		for i := range enc {
			if len(enc) > 400 && i > 200 && r.IntN(4) != 0 {
				continue
			}
			forged := append([]byte(nil), enc...)
			forged[i] ^= 1 << r.IntN(8)
			mustRefuse(t, fmt.Sprintf("n=%d: byte %d changed", n, i), forged, want, verify)
		}
		mustRefuse(t, "truncated", enc[:len(enc)-1], want, verify)
		mustRefuse(t, "extended", append(append([]byte(nil), enc...), 0), want, verify)
		mustRefuse(t, "empty", nil, want, verify)

		// Another index: the path of another leaf, or this path at another
		// position.
		if n > 1 {
			other := (at + 1 + r.IntN(n-1)) % n
			moved := p
			moved.Index = uint32(other)
			if e, err := moved.MarshalBinary(); err == nil {
				mustRefuse(t, fmt.Sprintf("n=%d: index %d for %d", n, other, at), e, want, verify)
			}
			if _, err := b.proofOf(t, other).Verify(tx.ID); !errors.Is(err, proof.ErrBadProof) {
				t.Fatalf("n=%d: the path of leaf %d verifies leaf %d: %v", n, other, at, err)
			}
		}
		// Another tx_count (the root does not commit to it, the header
		// hash does), a header of another block.
		for _, count := range []int{n + 1, n - 1, 2 * n} {
			if count < 1 || count == n {
				continue
			}
			blk, _ := chain.DecodeHeader(b.header)
			blk.TxCount = uint64(count)
			h := blk.Header()
			forged := p
			forged.Header = h[:]
			if e, err := forged.MarshalBinary(); err == nil {
				mustRefuse(t, fmt.Sprintf("n=%d: tx_count %d", n, count), e, want, verify)
			}
		}
		swapped := p
		swapped.Header = newTxBlock(r, n, at, chaintest.Tx(tx.Sender, tx.Recipient, tx.Amount+1, tx.Nonce)).header
		if _, err := swapped.Verify(tx.ID); !errors.Is(err, proof.ErrBadProof) {
			t.Fatalf("n=%d: verifies against another block's header: %v", n, err)
		}
		// A transaction the block does not hold, at any position.
		absent := chaintest.Tx("sender", "nobody", 1, 1)
		lie := p
		lie.Tx = absent.AppendBinary(nil)
		if _, err := lie.Verify(absent.ID); !errors.Is(err, proof.ErrBadProof) {
			t.Fatalf("n=%d: an absent transaction verifies: %v", n, err)
		}
		if _, err := p.Verify(absent.ID); !errors.Is(err, proof.ErrBadProof) {
			t.Fatalf("n=%d: the proof of %s verifies %s: %v", n, tx.ID, absent.ID, err)
		}
	}
}

// account is what a map holds for an address.
type account struct{ balance, nonce uint64 }

// stateBlock is a header over a random account map.
type stateBlock struct {
	store    *smt.MemStore
	root     smt.Hash
	header   []byte
	accounts map[string]account
}

// newStateBlock puts a random account, zero for about a third of them, for
// each of addrs in a map and returns the header over its root.
func newStateBlock(t testing.TB, r *rand.Rand, addrs []string) stateBlock {
	t.Helper()
	b := stateBlock{store: smt.NewMemStore(), accounts: make(map[string]account)}
	var changes []smt.Change
	for _, a := range addrs {
		var acc account
		switch r.IntN(3) {
		case 0: // absent
		case 1:
			acc = account{balance: r.Uint64N(1 << 53), nonce: r.Uint64N(100)}
		case 2:
			acc = account{nonce: 1 + r.Uint64N(100)} // spent everything
		}
		b.accounts[a] = acc
		if acc != (account{}) {
			changes = append(changes, chain.StateChange(a, acc.balance, acc.nonce))
		}
	}
	var err error
	if b.root, err = smt.Apply(b.store, smt.Empty, changes); err != nil {
		t.Fatal(err)
	}
	blk := chain.Block{Index: uint64(2 + r.IntN(1000)), StateRoot: chain.Hash(b.root), Bits: 0x207fffff}
	h := blk.Header()
	b.header = h[:]
	return b
}

// proofOf returns the proof of addr's account in b, with what the map
// holds.
func (b stateBlock) proofOf(t testing.TB, addr string) (proof.Account, smt.ProofKind) {
	t.Helper()
	sp, err := smt.Prove(b.store, b.root, smt.Hash(chain.AccountKey(addr)))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	acc := b.accounts[addr]
	return proof.Account{Header: b.header, Address: addr, Balance: acc.balance, NextNonce: acc.nonce, Map: enc}, sp.Kind
}

// TestAccountProofProperty builds random account maps and checks that
// the proof of every address verifies with the account the map holds
// (inclusion, or either kind of absence), round-trips its one encoding,
// and is refused with any other account, any byte changed, another
// block's header, another address, and a cut or extended encoding.
func TestAccountProofProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var addrs []string
	for i := range 40 {
		_, a := chaintest.Key(t, fmt.Sprintf("account-%d", i))
		addrs = append(addrs, a)
	}
	kinds := map[smt.ProofKind]int{}
	for round := range 6 {
		b := newStateBlock(t, r, addrs[:1+round*len(addrs)/6])
		other := newStateBlock(t, r, addrs)
		for _, addr := range addrs {
			p, kind := b.proofOf(t, addr)
			kinds[kind]++
			enc, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			verify := func(enc []byte) (chain.Block, error) {
				p, err := proof.DecodeAccount(enc)
				if err != nil {
					return chain.Block{}, err
				}
				return p.Verify(addr)
			}
			want := chain.Hash(sha256.Sum256(b.header))
			if _, err := verify(enc); err != nil {
				t.Fatalf("round %d, %s (%+v): %v", round, addr, b.accounts[addr], err)
			}
			if any, err := proof.Decode(enc); err != nil {
				t.Fatalf("Decode: %v", err)
			} else if again, _ := any.(proof.Account).MarshalBinary(); string(again) != string(enc) {
				t.Fatal("the decoded proof encodes differently")
			}
			for i := range enc {
				if i > 200 && r.IntN(4) != 0 {
					continue
				}
				forged := append([]byte(nil), enc...)
				forged[i] ^= 1 << r.IntN(8)
				mustRefuse(t, fmt.Sprintf("%s: byte %d changed", addr, i), forged, want, verify)
			}
			mustRefuse(t, "truncated", enc[:len(enc)-1], want, verify)
			mustRefuse(t, "extended", append(append([]byte(nil), enc...), 0), want, verify)
			for _, lie := range []account{{p.Balance + 1, p.NextNonce}, {p.Balance, p.NextNonce + 1}, {}} {
				if lie == (account{p.Balance, p.NextNonce}) {
					continue
				}
				forged := p
				forged.Balance, forged.NextNonce = lie.balance, lie.nonce
				if _, err := forged.Verify(addr); !errors.Is(err, proof.ErrBadProof) {
					t.Fatalf("%s holds %+v; a claim of %+v: %v", addr, b.accounts[addr], lie, err)
				}
			}
			swapped := p
			swapped.Header = other.header
			if _, err := swapped.Verify(addr); !errors.Is(err, proof.ErrBadProof) && other.root != b.root {
				t.Fatalf("%s: verifies against another map's header: %v", addr, err)
			}
			if _, err := p.Verify(addrs[(round+1)%len(addrs)]); !errors.Is(err, proof.ErrBadProof) && addr != addrs[(round+1)%len(addrs)] {
				t.Fatalf("the proof of %s verifies another address: %v", addr, err)
			}
		}
	}
	if kinds[smt.Included] == 0 || kinds[smt.AbsentEmpty] == 0 || kinds[smt.AbsentOther] == 0 {
		t.Fatalf("proof kinds seen %v: want inclusions and both kinds of absence", kinds)
	}
}

// TestDecodeRefuses checks the framing rules the property tests cannot
// reach by flipping bits: unknown types, a header of another version, a
// path of the wrong length, field lengths out of range, and a string that
// is no address.
func TestDecodeRefuses(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tx := chaintest.Tx("a", "b", 1, 0)
	tb := newTxBlock(r, 7, 3, tx)
	good, _ := tb.proofOf(t, 3).MarshalBinary()
	_, addr := chaintest.Key(t, "alice")
	sb := newStateBlock(t, r, []string{addr})
	ap, _ := sb.proofOf(t, addr)
	goodAcc, _ := ap.MarshalBinary()

	edit := func(b []byte, f func(b []byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	cases := []struct {
		name string
		enc  []byte
	}{
		{"unknown type", edit(good, func(b []byte) []byte { b[0] = 3; return b })},
		{"account type on a tx proof", edit(good, func(b []byte) []byte { b[0] = proof.TypeAccount; return b })},
		{"header version 2", edit(good, func(b []byte) []byte { b[1+96+3] = 2; return b })},
		{"index = tx_count", edit(good, func(b []byte) []byte { b[1+136+3] = 7; return b })},
		{"tx length 0", edit(good, func(b []byte) []byte { b[1+136+4], b[1+136+5] = 0, 0; return b })},
		{"tx length 349", edit(good, func(b []byte) []byte { b[1+136+4], b[1+136+5] = 1, 93; return b })},
		{"path one hash short", edit(good, func(b []byte) []byte { b[len(b)-1-3*32]--; return b[:len(b)-32] })},
		{"path one hash long", edit(good, func(b []byte) []byte { b[len(b)-1-3*32]++; return append(b, make([]byte, 32)...) })},
		{"map length 2", edit(goodAcc, func(b []byte) []byte {
			b[1+136+52+16], b[1+136+52+17] = 0, 2
			return b[:1+136+52+16+2+2]
		})},
		{"account header cut", goodAcc[:100]},
	}
	for _, c := range cases {
		if _, err := proof.Decode(c.enc); !errors.Is(err, proof.ErrBadProof) {
			t.Errorf("%s: %v, want ErrBadProof", c.name, err)
		}
	}
	notAddr := ap
	notAddr.Address = "gossipchain:not-an-address-but-of-52-bytes-000000000"[:chain.AddressLen]
	enc, err := notAddr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proof.DecodeAccount(enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(notAddr.Address); !errors.Is(err, proof.ErrBadProof) || !errors.Is(err, chain.ErrNotAddress) {
		t.Fatalf("a proof of no address: %v, want ErrBadProof and ErrNotAddress", err)
	}
}
