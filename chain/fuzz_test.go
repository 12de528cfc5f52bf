package chain_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// fuzzParams is a network whose limits the seeds reach: difficulty 2, at
// most 8 transactions.
func fuzzParams(t testing.TB) chain.Params {
	p := chaintest.ParamsAt(t, 2)
	p.MaxBlockTxs = 8
	p.MaxBlockSize = 4096
	return p
}

// fuzzSeeds returns valid and broken blocks for the seed corpus.
func fuzzSeeds(t testing.TB) []*chain.Block {
	p := fuzzParams(t)
	g := p.Genesis()
	valid := chaintest.NextBlock(t, &p, g, "miner", chaintest.Tx("alice", "bob", 5, 1), chaintest.Tx("carol", "dave é", chain.MaxAmount, 1<<60))
	empty := chaintest.CloneBlock(valid)
	empty.Transactions = nil
	noReward := chaintest.CloneBlock(valid)
	noReward.Transactions = noReward.Transactions[:1]
	return []*chain.Block{g, valid, chaintest.Seal(t, empty), chaintest.Seal(t, noReward), chaintest.NextBlock(t, &p, valid, "m")}
}

// checkDecoded runs every check a decoded block meets on its way into a
// chain, none of which may panic, and compares the encodings.
func checkDecoded(t *testing.T, p *chain.Params, b *chain.Block) {
	_ = p.CheckBlockSanity(b, chaintest.Now)
	if ge, err := p.ParentOf(p.Genesis(), nil); err == nil {
		_ = p.CheckBlockContext(b, ge, chain.GenesisTimestamp)
	}
	_ = b.Reward()
	raw, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if valid := p.CheckBlockSanity(b, chaintest.Now) == nil; valid {
		// A valid block has one binary encoding and survives JSON.
		b2, err := chain.DecodeBlock(raw, p.MaxBlockTxs)
		if err != nil || b2.Hash != b.Hash || !reflect.DeepEqual(b2.Transactions, b.Transactions) {
			t.Fatalf("valid block does not survive its binary encoding: %v", err)
		}
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("json.Marshal of a valid block: %v", err)
		}
		b3, err := chain.DecodeBlockJSON(data, p.MaxBlockTxs)
		if err != nil || !reflect.DeepEqual(b3, b) {
			t.Fatalf("valid block does not survive JSON: %v", err)
		}
	}
}

func FuzzDecodeBlock(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		raw, _ := b.MarshalBinary()
		f.Add(raw)
		f.Add(raw[:len(raw)-1])
	}
	f.Add([]byte{})
	f.Add(make([]byte, chain.HeaderSize+4))
	p := fuzzParams(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := chain.DecodeBlock(data, p.MaxBlockTxs)
		if err != nil {
			if !chain.IsRuleError(err) {
				t.Fatalf("decoding error %v is not a rule error", err)
			}
			return
		}
		// The binary encoding is canonical: re-encoding gives the input.
		if raw, _ := b.MarshalBinary(); !bytes.Equal(raw, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, raw)
		}
		if b.Hash != b.ComputeHash() {
			t.Fatal("DecodeBlock did not set the hash")
		}
		checkDecoded(t, &p, b)
	})
}

func FuzzDecodeBlockJSON(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		data, _ := json.Marshal(b)
		f.Add(data)
		f.Add(reformat(f, data))
	}
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"index":1}`, `{"index":1,"index":2}`, `{"transactions":[{}]}`} {
		f.Add([]byte(s))
	}
	p := fuzzParams(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := chain.DecodeBlockJSON(data, p.MaxBlockTxs)
		if err != nil {
			if !chain.IsRuleError(err) {
				t.Fatalf("decoding error %v is not a rule error", err)
			}
			return
		}
		if len(b.Transactions) > p.MaxBlockTxs {
			t.Fatalf("%d transactions decoded", len(b.Transactions))
		}
		// Encoding and decoding again gives the same block and hash.
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("json.Marshal of a decoded block: %v", err)
		}
		b2, err := chain.DecodeBlockJSON(out, p.MaxBlockTxs)
		if err != nil || !reflect.DeepEqual(b2, b) || b2.ComputeHash() != b.ComputeHash() {
			t.Fatalf("JSON round trip changed the block: %v\n in %s\nout %s", err, data, out)
		}
		checkDecoded(t, &p, b)
		// The pool's checks too.
		for i := range b.Transactions {
			_ = b.Transactions[i].Check()
		}
	})
}

func FuzzDecodeTransactionJSON(f *testing.F) {
	tx := chaintest.Tx("alice", "bob", 5, 1)
	data, _ := json.Marshal(tx)
	f.Add(data)
	f.Add(reformat(f, data))
	bad := tx
	bad.Amount = 0
	data, _ = json.Marshal(bad)
	f.Add(data)
	for _, s := range []string{``, `{}`, `{"amount":1.5}`, `{"amount":-1}`, `{"amount":1e3}`, `{"AMOUNT":1}`, `{"id":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := chain.DecodeTransactionJSON(data)
		if err != nil {
			if chain.RuleCode(err) != chain.ErrMalformed {
				t.Fatalf("decoding error %v has code %v", err, chain.RuleCode(err))
			}
			return
		}
		checkErr := tx.Check()
		out, err := json.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		tx2, err := chain.DecodeTransactionJSON(out)
		if err != nil || tx2 != tx {
			t.Fatalf("round trip: %+v, %v", tx2, err)
		}
		if checkErr == nil {
			// A valid transaction survives the binary encoding too.
			tx3, err := chain.DecodeTransaction(tx.AppendBinary(nil))
			if err != nil || tx3 != tx {
				t.Fatalf("binary round trip: %+v, %v", tx3, err)
			}
		}
	})
}

func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"0", "1704067200.000000", "1.5", "-1.000001", "9223372036854.775807", "-9223372036854.775808", "9223372036854.775808", "1e9", "01", "1.", ".1", "-", "--1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := chain.ParseTimestamp(s)
		if err != nil {
			return
		}
		// The canonical form parses back to the same value.
		back, err := chain.ParseTimestamp(ts.String())
		if err != nil || back != ts {
			t.Fatalf("ParseTimestamp(%q) = %d, but %q gives %d, %v", s, int64(ts), ts.String(), int64(back), err)
		}
		// JSON accepts exactly what ParseTimestamp accepts.
		var j chain.Timestamp
		if err := json.Unmarshal([]byte(s), &j); err != nil || j != ts {
			t.Fatalf("json.Unmarshal(%q) = %d, %v", s, int64(j), err)
		}
	})
}

// FuzzDecodeSignedTransaction fuzzes the binary transaction decoder with
// signed transactions as seeds: whatever decodes encodes back to the same
// bytes, has the SHA-256 of them as its id, survives JSON, and goes through
// every check of a signed network without a panic.
func FuzzDecodeSignedTransaction(f *testing.F) {
	p := chaintest.SignedParams(f)
	genesis := p.Genesis().Hash
	key, addr := chaintest.Key(f, "alice")
	_, bob := chaintest.Key(f, "bob")
	for _, n := range []uint64{0, 1, 1 << 62} {
		tx, err := chain.SignTransaction(key, bob, 1+n%chain.MaxAmount, n, genesis)
		if err != nil {
			f.Fatal(err)
		}
		enc := tx.AppendBinary(nil)
		f.Add(enc)
		f.Add(enc[:len(enc)-1])
		f.Add(append(enc, 0))
		flipped := bytes.Clone(enc)
		flipped[len(flipped)-40] ^= 4
		f.Add(flipped)
	}
	unsigned := chaintest.Tx(addr, bob, 5, 0)
	f.Add(unsigned.AppendBinary(nil))
	f.Add([]byte{0x80, 0x01, 'a', 0x00, 0x01, 'b'})
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := chain.DecodeTransaction(data)
		if err != nil {
			if !chain.IsRuleError(err) {
				t.Fatalf("decoding error %v is no rule error", err)
			}
			return
		}
		if again := tx.AppendBinary(nil); !bytes.Equal(again, data) {
			t.Fatalf("decoded %+v encodes to %x, input %x", tx, again, data)
		}
		if tx.ID != sha256.Sum256(data) {
			t.Fatalf("id %s is not the SHA-256 of the encoding", tx.ID)
		}
		if tx.Check() != nil {
			return
		}
		// Well-formed (printable addresses): it survives JSON.
		js, err := json.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		tx2, err := chain.DecodeTransactionJSON(js)
		if err != nil || tx2 != tx {
			t.Fatalf("JSON round trip: %+v, %v", tx2, err)
		}
		if p.CheckLedgerFields(&tx) == nil && !tx.IsReward() {
			_ = tx.Verify(genesis)
		}
	})
}
