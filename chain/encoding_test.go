package chain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// Golden values of the canonical encodings, computed independently of this
// package from the byte layout of PROTOCOL.md 2.1 to 2.3. A change here
// is a change of consensus.
const (
	goldenTxID          = "e0abb7064f3b820b2a268eb32d32b924462d22fdfe6e66eca6394522a6946b6d" // alice → bob, 5, nonce 1
	goldenTxBinary      = "0005616c6963650003626f6200000000000000050000000000000001"
	goldenDevnetGenesis = "f42ccfa649a2086afbe30afa118d0989ffa68c28721894bbb059c4e391f29981"   // devnet: 10 s blocks, retargeting
	goldenDevnetTxRoot  = "8ceaa878a3ab6120529bb931f5404f4dfaa5a06679a642603a1fb6e547494723"   // SHA-256(0x00 || the reward's id)
	goldenDevnetBinary  = "585a153fbd69f09ebdd4990feacb1f470bcbc545dcdae8b9f86c66b493511302" + // previous_hash: the parameters' commitment
		"8ceaa878a3ab6120529bb931f5404f4dfaa5a06679a642603a1fb6e547494723" + // tx_root
		"0000000000000000000000000000000000000000000000000000000000000000" + // state_root
		"00000003" + "0000000000000001" + "00060dd710212000" + "1e03ffff" + // version index timestamp bits
		"0000000000000001" + "0000000000000000" + // tx_count proof
		"00000001" + // transaction count
		"0001" + "30" + "0012" + "676f73736970636861696e3a6465766e6574" + "0000000000000001" + "0000000000000001"
)

func TestGoldenEncodings(t *testing.T) {
	tx := chaintest.Tx("alice", "bob", 5, 1)
	if got := hex.EncodeToString(tx.AppendBinary(nil)); got != goldenTxBinary {
		t.Errorf("transaction encoding %s, want %s", got, goldenTxBinary)
	}
	if tx.ID.String() != goldenTxID {
		t.Errorf("transaction id %s, want %s", tx.ID, goldenTxID)
	}
	p := chain.DefaultParams()
	g := p.Genesis()
	if g.Hash.String() != goldenDevnetGenesis || g.TxRoot.String() != goldenDevnetTxRoot {
		t.Errorf("devnet genesis %s root %s, want %s root %s", g.Hash, g.TxRoot, goldenDevnetGenesis, goldenDevnetTxRoot)
	}
	raw, _ := g.MarshalBinary()
	if got := hex.EncodeToString(raw); got != goldenDevnetBinary {
		t.Errorf("genesis encoding\n got %s\nwant %s", got, goldenDevnetBinary)
	}
}

func TestHeaderLayout(t *testing.T) {
	b := &chain.Block{
		Index:     0x0102030405060708,
		Timestamp: -2, // two's complement
		Proof:     0x1112131415161718,
		Bits:      0x21222324,
		TxCount:   0x3132333435363738,
	}
	for i := range b.PreviousHash {
		b.PreviousHash[i] = byte(0xa0 + i)
		b.TxRoot[i] = byte(0x40 + i)
		b.StateRoot[i] = byte(0x60 + i)
	}
	h := b.Header()
	want := append(append(b.PreviousHash[:], b.TxRoot[:]...), b.StateRoot[:]...)
	want = append(want, 0, 0, 0, 3)
	want = append(want, 1, 2, 3, 4, 5, 6, 7, 8)
	want = append(want, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe)
	want = append(want, 0x21, 0x22, 0x23, 0x24)
	want = append(want, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38)
	want = append(want, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18)
	if !bytes.Equal(h[:], want) {
		t.Fatalf("header\n got %x\nwant %x", h, want)
	}
	if b.ComputeHash() != sha256.Sum256(want) {
		t.Error("ComputeHash is not SHA-256 of the header")
	}
	// The proof is the last 8 bytes, in the third SHA-256 block.
	if chain.HeaderSize != 136 || len(h)-8 < 128 {
		t.Error("proof is not in the final SHA-256 block")
	}
	// DecodeHeader reads it back, hash included, and nothing else.
	got, err := chain.DecodeHeader(h[:])
	b.Hash = b.ComputeHash()
	if err != nil || !reflect.DeepEqual(&got, b) {
		t.Errorf("DecodeHeader: %+v, %v; want %+v", got, err, b)
	}
	for _, bad := range [][]byte{h[:chain.HeaderSize-1], append(h[:], 0)} {
		if _, err := chain.DecodeHeader(bad); chain.RuleCode(err) != chain.ErrMalformed {
			t.Errorf("header of %d bytes: %v", len(bad), err)
		}
	}
}

func TestTxRoot(t *testing.T) {
	a, b := chaintest.Tx("a", "b", 1, 1), chaintest.Tx("a", "b", 1, 2)
	leaf := func(id chain.Hash) []byte { h := sha256.Sum256(append([]byte{0}, id[:]...)); return h[:] }
	want := sha256.Sum256(append(append([]byte{1}, leaf(a.ID)...), leaf(b.ID)...))
	if got := chain.TxRoot([]chain.Transaction{a, b}); got != want {
		t.Errorf("TxRoot = %s", got)
	}
	if chain.TxRoot([]chain.Transaction{a, b}) == chain.TxRoot([]chain.Transaction{b, a}) {
		t.Error("TxRoot ignores order")
	}
	if chain.TxRoot(nil) != sha256.Sum256(nil) {
		t.Error("TxRoot of no transactions")
	}
}

func TestTransactionIDCommitsToEveryField(t *testing.T) {
	base := chaintest.Tx("alice", "bob", 5, 1)
	for _, tx := range []chain.Transaction{
		chaintest.Tx("alicf", "bob", 5, 1),
		chaintest.Tx("alice", "boc", 5, 1),
		chaintest.Tx("alice", "bob", 6, 1),
		chaintest.Tx("alice", "bob", 5, 2),
		chaintest.Tx("alic", "ebob", 5, 1), // the length prefixes separate the fields
	} {
		if tx.ID == base.ID {
			t.Errorf("%+v has the id of %+v", tx, base)
		}
	}
}

func TestNewTransaction(t *testing.T) {
	a, err := chain.NewTransaction("alice", "bob", 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := chain.NewTransaction("alice", "bob", 5)
	if a.ID == b.ID || a.Nonce == b.Nonce {
		t.Error("two equal payments share an id")
	}
	if err := a.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	for range 100 {
		tx, _ := chain.NewTransaction("alice", "bob", 5)
		if tx.Nonce > chain.MaxAmount {
			t.Fatalf("nonce %d is not exact in a float64 JSON number", tx.Nonce)
		}
	}
	for _, bad := range []struct {
		sender, recipient string
		amount            uint64
	}{
		{"", "bob", 1}, {"alice", "", 1}, {"alice", "bob", 0}, {"alice", "bob", chain.MaxAmount + 1},
		{chain.RewardSender, "bob", 1}, {"al\nice", "bob", 1},
	} {
		_, err := chain.NewTransaction(bad.sender, bad.recipient, bad.amount)
		chaintest.WantErr(t, err, chain.ErrBadTransaction)
	}
}

func TestBlockBinaryRoundTrip(t *testing.T) {
	b := sampleBlock(t)
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != b.BinarySize() {
		t.Errorf("BinarySize %d, encoding %d bytes", b.BinarySize(), len(raw))
	}
	got, err := chain.DecodeBlock(raw, 0)
	if err != nil {
		t.Fatalf("DecodeBlock: %v", err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, b)
	}
	// Every truncation and an extra byte are errors.
	for n := range len(raw) {
		if _, err := chain.DecodeBlock(raw[:n], 0); chain.RuleCode(err) != chain.ErrMalformed {
			t.Fatalf("DecodeBlock of %d of %d bytes: %v", n, len(raw), err)
		}
	}
	if _, err := chain.DecodeBlock(append(raw, 0), 0); chain.RuleCode(err) != chain.ErrMalformed {
		t.Errorf("trailing byte: %v", err)
	}
	// Transaction count above the limit.
	if _, err := chain.DecodeBlock(raw, 2); chain.RuleCode(err) != chain.ErrTooLarge {
		t.Errorf("maxTxs 2: %v", err)
	}
	huge := bytes.Clone(raw)
	binary.BigEndian.PutUint32(huge[chain.HeaderSize:], 1<<31)
	if _, err := chain.DecodeBlock(huge, 0); chain.RuleCode(err) != chain.ErrTooLarge {
		t.Errorf("2^31 transactions: %v", err)
	}
	binary.BigEndian.PutUint32(huge[chain.HeaderSize:], 1000)
	if _, err := chain.DecodeBlock(huge, 0); chain.RuleCode(err) != chain.ErrMalformed {
		t.Errorf("1000 transactions in a few bytes: %v", err)
	}
	// Another header version.
	for _, v := range []byte{2, 4} {
		other := bytes.Clone(raw)
		other[99] = v
		if _, err := chain.DecodeBlock(other, 0); chain.RuleCode(err) != chain.ErrMalformed {
			t.Errorf("version %d: %v", v, err)
		}
	}
	// An address longer than MaxAddressLen.
	long := bytes.Clone(raw)
	binary.BigEndian.PutUint16(long[chain.HeaderSize+4:], chain.MaxAddressLen+1)
	if _, err := chain.DecodeBlock(long, 0); chain.RuleCode(err) != chain.ErrTooLarge {
		t.Errorf("long address: %v", err)
	}
}

func TestDecodeBlockComputesHashes(t *testing.T) {
	b := sampleBlock(t)
	b.Hash = chain.Hash{1}               // a stated hash is not encoded
	b.Transactions[0].ID = chain.Hash{2} // nor are transaction ids
	raw, _ := b.MarshalBinary()
	got, err := chain.DecodeBlock(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != got.ComputeHash() || got.Transactions[0].ID != got.Transactions[0].ComputeID() {
		t.Error("DecodeBlock keeps hashes instead of computing them")
	}
}

func TestTransactionBinaryRoundTrip(t *testing.T) {
	tx := chaintest.Tx("alice", "bob ü", chain.MaxAmount, 1<<63)
	raw := tx.AppendBinary(nil)
	got, err := chain.DecodeTransaction(raw)
	if err != nil || got != tx {
		t.Fatalf("DecodeTransaction = %+v, %v", got, err)
	}
	for n := range len(raw) {
		if _, err := chain.DecodeTransaction(raw[:n]); err == nil {
			t.Fatalf("truncation to %d bytes decoded", n)
		}
	}
	if _, err := chain.DecodeTransaction(append(raw, 1)); chain.RuleCode(err) != chain.ErrMalformed {
		t.Errorf("trailing byte: %v", err)
	}
}
