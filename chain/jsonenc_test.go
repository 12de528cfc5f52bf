package chain_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

// reflectJSON encodes v with encoding/json's reflection, bypassing the
// MarshalJSON methods, HTML escaping off.
func reflectJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	type plainTx struct {
		ID        chain.Hash      `json:"id"`
		Sender    string          `json:"sender"`
		Recipient string          `json:"recipient"`
		Amount    uint64          `json:"amount"`
		Nonce     uint64          `json:"nonce"`
		Fee       uint64          `json:"fee,omitzero"`
		Signature chain.Signature `json:"signature,omitzero"`
	}
	type plainBlock struct {
		Index        uint64          `json:"index"`
		Timestamp    chain.Timestamp `json:"timestamp"`
		Transactions []plainTx       `json:"transactions"`
		Proof        uint64          `json:"proof"`
		PreviousHash chain.Hash      `json:"previous_hash"`
		Bits         chain.Compact   `json:"bits"`
		TxRoot       chain.Hash      `json:"tx_root"`
		StateRoot    chain.Hash      `json:"state_root"`
		TxCount      uint64          `json:"tx_count"`
		Hash         chain.Hash      `json:"hash"`
	}
	addrs := []string{"alice", `quote"and\backslash`, "<html>&amp;", "ünïcödé 雪", "tab\there", "line\u2028sep", "bad\xffutf8", "x"}
	var txs []chain.Transaction
	for i, a := range addrs {
		txs = append(txs, chain.Transaction{ID: chain.Hash{byte(i)}, Sender: a, Recipient: addrs[len(addrs)-1-i], Amount: uint64(i + 1), Nonce: 1<<63 + uint64(i)})
		if i%2 == 1 {
			txs[i].Signature = chain.Signature{byte(i), 0xab, 63: 0xcd}
			txs[i].Fee = uint64(i / 2) // 0 for the first: no "fee" key
		}
	}
	b := &chain.Block{Index: 42, Timestamp: 1704067260_123456, Transactions: txs, Proof: 1<<64 - 1, PreviousHash: chain.Hash{1, 2}, Bits: 0x1d00ffff, TxRoot: chain.Hash{3}, StateRoot: chain.Hash{5}, TxCount: 8, Hash: chain.Hash{4}}
	var plain plainBlock
	plain.Index, plain.Timestamp, plain.Proof, plain.PreviousHash, plain.Bits, plain.TxRoot, plain.StateRoot, plain.TxCount, plain.Hash =
		b.Index, b.Timestamp, b.Proof, b.PreviousHash, b.Bits, b.TxRoot, b.StateRoot, b.TxCount, b.Hash
	for _, tx := range txs {
		plain.Transactions = append(plain.Transactions, plainTx(tx))
	}
	want := reflectJSON(t, plain)
	if got := b.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
	}
	if got := reflectJSON(t, b); !bytes.Equal(got, want) {
		t.Fatalf("encoding/json through MarshalJSON:\n got %s\nwant %s", got, want)
	}
	for _, ts := range []chain.Timestamp{0, 1, 999999, 1000000, 1704067200_000000, -1, -1500000, -1 << 63, 1<<63 - 1} {
		if got, want := string(chain.AppendTimestampJSON(nil, ts)), ts.String(); got != want {
			t.Errorf("timestamp %d: appendJSON %s, String %s", int64(ts), got, want)
		}
	}
	empty := &chain.Block{Transactions: []chain.Transaction{}}
	if got, want := string(empty.AppendJSON(nil)), `{"index":0,"timestamp":0.000000,"transactions":[],"proof":0,"previous_hash":"0000000000000000000000000000000000000000000000000000000000000000","bits":0,"tx_root":"0000000000000000000000000000000000000000000000000000000000000000","state_root":"0000000000000000000000000000000000000000000000000000000000000000","tx_count":0,"hash":"0000000000000000000000000000000000000000000000000000000000000000"}`; got != want {
		t.Fatalf("empty block: got %s want %s", got, want)
	}
}

func BenchmarkBlockAppendJSON(b *testing.B) {
	blk := benchBlockForJSON()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = blk.AppendJSON(buf[:0])
	}
}

func BenchmarkBlockEncodingJSON(b *testing.B) {
	blk := benchBlockForJSON()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(blk); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBlockForJSON() *chain.Block {
	tx, _ := chain.NewTransaction("d4ee26eee15148ee92c6cd394edd974e", "someone-other-address", 5)
	txs := []chain.Transaction{tx, chain.NewRewardTransaction("12D3KooWPSTdcT8b4A12fQat9Lz9Q76Le1XL8yMenvJMexLnPHHF", 1, 7)}
	b := &chain.Block{Index: 7, Timestamp: 1795667396_400199, Transactions: txs, Proof: 241327, Bits: 0x1d00ffff}
	b.TxRoot = chain.TxRoot(txs)
	b.Hash = b.ComputeHash()
	return b
}
