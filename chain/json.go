package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// DecodeStrict decodes exactly one JSON value from data into v: unknown
// fields, wrong types, trailing data, invalid UTF-8 and lone UTF-16
// surrogates (which encoding/json would turn into U+FFFD) are errors. Keys match v's fields
// as encoding/json matches them (case-insensitively, the last duplicate
// winning); blocks and transactions have the stricter DecodeBlockJSON and
// DecodeTransactionJSON.
func DecodeStrict(data []byte, v any) error {
	if err := checkJSONText(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Errorf("field %q: cannot use JSON %s as %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("cannot use JSON %s as %s", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, err)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("empty JSON body")
	}
	return err
}

// DecodeBlockJSON strictly decodes a block as /chain and /blocks serve it:
// an object with exactly the keys index, timestamp, transactions, proof,
// previous_hash, bits, tx_root, state_root, tx_count and hash, each once,
// spelled exactly,
// none null. Unknown, duplicated or differently cased keys, wrong types,
// fractional, negative or out-of-range numbers and trailing data are
// errors, and at most maxTxs transactions (capped at MaxTxsLimit) are
// decoded. The stated hash and transaction ids are kept as given;
// validation checks them.
func DecodeBlockJSON(data []byte, maxTxs int) (*Block, error) {
	if maxTxs <= 0 || maxTxs > MaxTxsLimit {
		maxTxs = MaxTxsLimit
	}
	if err := checkJSONText(data); err != nil {
		return nil, asMalformed("block", err)
	}
	dec := newJSONDecoder(data)
	b, err := decodeBlockObject(dec, maxTxs)
	if err == nil {
		err = dec.end()
	}
	if err != nil {
		return nil, asMalformed("block", err)
	}
	return b, nil
}

// DecodeTransactionJSON strictly decodes a full transaction: an object with
// exactly the keys id, sender, recipient, amount and nonce, and signature
// for a signed transaction, under the same
// rules as DecodeBlockJSON. The id is kept as given; Check verifies it.
func DecodeTransactionJSON(data []byte) (Transaction, error) {
	if err := checkJSONText(data); err != nil {
		return Transaction{}, asMalformed("transaction", err)
	}
	dec := newJSONDecoder(data)
	var tx Transaction
	err := decodeTxObject(dec, &tx)
	if err == nil {
		err = dec.end()
	}
	if err != nil {
		return Transaction{}, asMalformed("transaction", err)
	}
	return tx, nil
}

// asMalformed turns a decoding error into an ErrMalformed RuleError, keeping
// the code of an error that already has one (ErrTooLarge).
func asMalformed(what string, err error) error {
	if IsRuleError(err) {
		return err
	}
	return RuleErrorf(ErrMalformed, "%s: %v", what, err)
}

// jsonDecoder reads one JSON value token by token, so that object keys can
// be matched exactly and counted.
type jsonDecoder struct{ *json.Decoder }

func newJSONDecoder(data []byte) jsonDecoder {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return jsonDecoder{dec}
}

// end fails unless only white space follows the value.
func (d jsonDecoder) end() error {
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// token reads the next token, describing errors.
func (d jsonDecoder) token() (json.Token, error) {
	tok, err := d.Token()
	if errors.Is(err, io.EOF) && d.InputOffset() > 0 {
		return nil, errors.New("unexpected end of JSON input")
	}
	if err != nil {
		return nil, describeJSONError(err)
	}
	return tok, nil
}

// delim reads the delimiter want ('{', '[', '}' or ']').
func (d jsonDecoder) delim(want json.Delim) error {
	tok, err := d.token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %s, want %s", describeToken(tok), want)
	}
	return nil
}

// object reads one JSON object whose keys must be exactly those of fields,
// each once. Each value is handed to its field's decode function.
func (d jsonDecoder) object(fields []jsonField) error {
	if err := d.delim('{'); err != nil {
		return err
	}
	seen := make([]bool, len(fields))
	for d.More() {
		tok, err := d.token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		i := slices.IndexFunc(fields, func(f jsonField) bool { return f.name == key })
		if i < 0 {
			return fmt.Errorf("unknown field %q", key)
		}
		if seen[i] {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[i] = true
		if err := fields[i].decode(d); err != nil {
			return fmt.Errorf("field %q: %w", key, err)
		}
	}
	if err := d.delim('}'); err != nil {
		return err
	}
	for i, f := range fields {
		if !seen[i] && !f.optional {
			return fmt.Errorf("missing field %q", f.name)
		}
	}
	return nil
}

// jsonField is one required key of an object.
type jsonField struct {
	name     string
	decode   func(d jsonDecoder) error
	optional bool // the key may be absent
}

// scalar reads one JSON value that must be a string or a number (not
// null, an object or an array) and hands its text to parse: the string's
// contents, or the number's literal.
func scalar(name string, wantString bool, parse func(text string) error) jsonField {
	return jsonField{name, func(d jsonDecoder) error {
		tok, err := d.token()
		if err != nil {
			return err
		}
		want := "a number"
		if wantString {
			want = "a string"
		}
		var text string
		switch v := tok.(type) {
		case string:
			if !wantString {
				return fmt.Errorf("got a string, want %s", want)
			}
			text = v
		case json.Number:
			if wantString {
				return fmt.Errorf("got a number, want %s", want)
			}
			text = string(v)
		default:
			return fmt.Errorf("got %s, want %s", describeToken(tok), want)
		}
		return parse(text)
	}, false}
}

func stringField(name string, dst *string) jsonField {
	return scalar(name, true, func(text string) error { *dst = text; return nil })
}

func hashField(name string, dst *Hash) jsonField {
	return scalar(name, true, func(text string) error {
		h, err := ParseHash(text)
		*dst = h
		return err
	})
}

// uintField accepts a JSON integer literal that fits in bits bits: no sign,
// fraction or exponent.
func uintField(name string, bits int, set func(uint64)) jsonField {
	return scalar(name, false, func(text string) error {
		v, err := strconv.ParseUint(text, 10, bits)
		if err != nil {
			return fmt.Errorf("%s is not an integer from 0 to %d", text, uint64(1)<<bits-1)
		}
		set(v)
		return nil
	})
}

func timestampField(name string, dst *Timestamp) jsonField {
	return scalar(name, false, func(text string) error {
		ts, err := ParseTimestamp(text)
		*dst = ts
		return err
	})
}

// decodeTxObject decodes a transaction object. "fee" belongs to signed
// transactions only (an unsigned one, as on the open ledger, has no such
// key), and may be absent there (a fee of 0).
func decodeTxObject(d jsonDecoder, tx *Transaction) error {
	hasFee := false
	err := d.object([]jsonField{
		hashField("id", &tx.ID),
		stringField("sender", &tx.Sender),
		stringField("recipient", &tx.Recipient),
		uintField("amount", 64, func(v uint64) { tx.Amount = v }),
		uintField("nonce", 64, func(v uint64) { tx.Nonce = v }),
		optional(uintField("fee", 64, func(v uint64) { tx.Fee, hasFee = v, true })),
		signatureField("signature", &tx.Signature),
	})
	if err == nil && hasFee && !tx.IsSigned() {
		return RuleErrorf(ErrMalformed, `"fee" in an unsigned transaction: only signed transactions carry fees`)
	}
	return err
}

// optional makes f a key that may be absent ("fee": absent is 0).
func optional(f jsonField) jsonField {
	f.optional = true
	return f
}

// signatureField is the optional "signature" key: 128 hex characters, not
// all zero (an unsigned transaction has no key at all).
func signatureField(name string, dst *Signature) jsonField {
	return optional(scalar(name, true, func(text string) error {
		s, err := ParseSignature(text)
		if err != nil {
			return err
		}
		if s.IsZero() {
			return errors.New("an all-zero signature: leave the key out of an unsigned transaction")
		}
		*dst = s
		return nil
	}))
}

func decodeBlockObject(d jsonDecoder, maxTxs int) (*Block, error) {
	b := &Block{}
	txs := jsonField{"transactions", func(d jsonDecoder) error {
		if err := d.delim('['); err != nil {
			return err
		}
		b.Transactions = []Transaction{}
		for d.More() {
			if len(b.Transactions) == maxTxs {
				return RuleErrorf(ErrTooLarge, "block has more than %d transactions", maxTxs)
			}
			var tx Transaction
			if err := decodeTxObject(d, &tx); err != nil {
				return fmt.Errorf("transaction %d: %w", len(b.Transactions), err)
			}
			b.Transactions = append(b.Transactions, tx)
		}
		return d.delim(']')
	}, false}
	err := d.object([]jsonField{
		uintField("index", 64, func(v uint64) { b.Index = v }),
		timestampField("timestamp", &b.Timestamp),
		txs,
		uintField("proof", 64, func(v uint64) { b.Proof = v }),
		hashField("previous_hash", &b.PreviousHash),
		uintField("bits", 32, func(v uint64) { b.Bits = Compact(v) }),
		hashField("tx_root", &b.TxRoot),
		hashField("state_root", &b.StateRoot),
		uintField("tx_count", 64, func(v uint64) { b.TxCount = v }),
		hashField("hash", &b.Hash),
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return string(v)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%v", tok)
}
