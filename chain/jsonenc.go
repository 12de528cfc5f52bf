package chain

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// AppendJSON appends the block as JSON, with the fields in the documented
// order and no white space:
//
//	{"index":…,"timestamp":…,"transactions":[…],"proof":…,"previous_hash":"…","bits":…,"tx_root":"…","state_root":"…","tx_count":…,"hash":"…"}
//
// It writes the same bytes as encoding/json with HTML escaping off, without
// reflection, since serving the chain is mostly this.
func (b *Block) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendUint(dst, b.Index, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = b.Timestamp.appendJSON(dst)
	dst = append(dst, `,"transactions":[`...)
	for i := range b.Transactions {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = b.Transactions[i].AppendJSON(dst)
	}
	dst = append(dst, `],"proof":`...)
	dst = strconv.AppendUint(dst, b.Proof, 10)
	dst = append(dst, `,"previous_hash":`...)
	dst = b.PreviousHash.appendJSON(dst)
	dst = append(dst, `,"bits":`...)
	dst = strconv.AppendUint(dst, uint64(b.Bits), 10)
	dst = append(dst, `,"tx_root":`...)
	dst = b.TxRoot.appendJSON(dst)
	dst = append(dst, `,"state_root":`...)
	dst = b.StateRoot.appendJSON(dst)
	dst = append(dst, `,"tx_count":`...)
	dst = strconv.AppendUint(dst, b.TxCount, 10)
	dst = append(dst, `,"hash":`...)
	dst = b.Hash.appendJSON(dst)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (b *Block) MarshalJSON() ([]byte, error) { return b.AppendJSON(make([]byte, 0, 256)), nil }

// AppendJSON appends the transaction as JSON:
// {"id":"…","sender":"…","recipient":"…","amount":…,"nonce":…}, with
// ,"fee":… when the fee is not 0 and ,"signature":"<128 hex>" for a signed
// transaction before the brace.
func (tx *Transaction) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = tx.ID.appendJSON(dst)
	dst = append(dst, `,"sender":`...)
	dst = appendJSONString(dst, tx.Sender)
	dst = append(dst, `,"recipient":`...)
	dst = appendJSONString(dst, tx.Recipient)
	dst = append(dst, `,"amount":`...)
	dst = strconv.AppendUint(dst, tx.Amount, 10)
	dst = append(dst, `,"nonce":`...)
	dst = strconv.AppendUint(dst, tx.Nonce, 10)
	if tx.Fee != 0 {
		dst = append(dst, `,"fee":`...)
		dst = strconv.AppendUint(dst, tx.Fee, 10)
	}
	if tx.IsSigned() {
		dst = append(dst, `,"signature":"`...)
		dst = hex.AppendEncode(dst, tx.Signature[:])
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (tx Transaction) MarshalJSON() ([]byte, error) { return tx.AppendJSON(make([]byte, 0, 160)), nil }

func (h Hash) appendJSON(dst []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, h[:])
	return append(dst, '"')
}

func (ts Timestamp) appendJSON(dst []byte) []byte {
	v := int64(ts)
	if v < 0 {
		return append(dst, ts.String()...)
	}
	dst = strconv.AppendInt(dst, v/1e6, 10)
	frac := v % 1e6
	var d [7]byte
	d[0] = '.'
	for i := 6; i >= 1; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(dst, d[:]...)
}

// appendJSONString appends s as a JSON string. Plain printable ASCII is
// copied; anything else goes through encoding/json (HTML escaping off).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return appendJSONStringSlow(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendJSONStringSlow(dst []byte, s string) []byte {
	var buf jsonBuffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := buf.b
	if n := len(out); n > 0 && out[n-1] == '\n' {
		out = out[:n-1]
	}
	return append(dst, out...)
}

type jsonBuffer struct{ b []byte }

func (w *jsonBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
