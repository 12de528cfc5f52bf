package chain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// sampleBlock returns a mined block on the genesis with two transactions.
func sampleBlock(t testing.TB) *chain.Block {
	t.Helper()
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	b := chaintest.NewBlock(&p, p.Genesis(), "miner", chaintest.Tx("alice", "bob", 5, 1), chaintest.Tx("carol", "dave ü", chain.MaxAmount, math.MaxUint64))
	b.Timestamp += 123_456
	return chaintest.Seal(t, b)
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return data
}

func TestBlockJSONShape(t *testing.T) {
	b := sampleBlock(t)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(mustMarshal(t, b), &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"bits", "hash", "index", "previous_hash", "proof", "state_root", "timestamp", "transactions", "tx_count", "tx_root"}
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("block keys %v, want %v", got, want)
	}
	if ts := string(m["timestamp"]); ts != "1704067201.123456" {
		t.Errorf("timestamp = %s, want 1704067201.123456", ts)
	}
	var txs []map[string]json.RawMessage
	if err := json.Unmarshal(m["transactions"], &txs); err != nil {
		t.Fatal(err)
	}
	for _, tx := range txs {
		if len(tx) != 5 || tx["id"] == nil || tx["sender"] == nil || tx["recipient"] == nil || tx["amount"] == nil || tx["nonce"] == nil {
			t.Errorf("transaction keys: %v", tx)
		}
	}
	if got := string(txs[1]["amount"]); got != "9007199254740991" {
		t.Errorf("amount = %s, want 9007199254740991", got)
	}
}

func TestBlockJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	b := sampleBlock(t)
	stamps := []chain.Timestamp{0, 1, -1, 999_999, -999_999, 1_000_000, chain.GenesisTimestamp, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for range 500 {
		stamps = append(stamps, chain.Timestamp(r.Int64()), chain.Timestamp(r.Int64N(4e15)), -chain.Timestamp(r.Int64N(4e15)))
	}
	for _, ts := range stamps {
		b.Timestamp = ts
		b.Hash = b.ComputeHash() // the stated hash must survive as well
		data := mustMarshal(t, b)
		got, err := chain.DecodeBlockJSON(data, 0)
		if err != nil {
			t.Fatalf("timestamp %d: DecodeBlockJSON(%s): %v", int64(ts), data, err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("timestamp %d: round trip changed the block:\n got %+v\nwant %+v", int64(ts), got, b)
		}
		if got.ComputeHash() != b.Hash {
			t.Fatalf("timestamp %d: hash changed", int64(ts))
		}
	}
}

// reformat re-encodes a JSON document with every object's keys in reverse
// order and generous white space, keeping numbers exactly as written.
func reformat(t testing.TB, data []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var emit func(v any, indent string)
	emit = func(v any, indent string) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			slices.Reverse(keys)
			out.WriteString("{\n")
			for i, k := range keys {
				fmt.Fprintf(&out, "%s\t%q :\t", indent, k)
				emit(v[k], indent+"\t")
				if i < len(keys)-1 {
					out.WriteString(" ,")
				}
				out.WriteString("\r\n")
			}
			out.WriteString(indent + "}")
		case []any:
			out.WriteString("[ ")
			for i, e := range v {
				if i > 0 {
					out.WriteString(" ,\n" + indent)
				}
				emit(e, indent+"  ")
			}
			out.WriteString(" ]")
		case json.Number:
			out.WriteString(v.String())
		default:
			out.Write(mustMarshal(t, v))
		}
	}
	out.WriteString("  \n")
	emit(v, "")
	out.WriteString("\n\t ")
	return out.Bytes()
}

func TestBlockJSONLayoutIndependent(t *testing.T) {
	b := sampleBlock(t)
	data := mustMarshal(t, b)
	alt := reformat(t, data)
	if bytes.Equal(alt, data) || bytes.Index(alt, []byte(`"tx_root"`)) > bytes.Index(alt, []byte(`"index"`)) {
		t.Fatalf("reformat did not reorder:\n%s", alt)
	}
	got, err := chain.DecodeBlockJSON(alt, 0)
	if err != nil {
		t.Fatalf("DecodeBlockJSON(reordered): %v\n%s", err, alt)
	}
	if got.ComputeHash() != b.Hash || !reflect.DeepEqual(got, b) {
		t.Errorf("reordered JSON decodes to another block")
	}
	p := chaintest.ParamsAt(t, chaintest.Difficulty)
	if err := p.CheckBlockSanity(got, chaintest.Now); err != nil {
		t.Errorf("reordered block fails validation: %v", err)
	}
}

// jsonEdit replaces the first occurrence of old in the JSON of v.
func jsonEdit(t testing.TB, v any, old, new string) string {
	t.Helper()
	s := string(mustMarshal(t, v))
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in %s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

func TestDecodeTransactionJSONStrict(t *testing.T) {
	tx := chaintest.Tx("alice", "bob", 5, 1)
	good := string(mustMarshal(t, tx))
	if got, err := chain.DecodeTransactionJSON([]byte(good)); err != nil || got != tx {
		t.Fatalf("DecodeTransactionJSON(%s) = %+v, %v", good, got, err)
	}
	idJSON := `"id":"` + tx.ID.String() + `"`
	cases := []struct {
		name string
		json string
	}{
		{"empty", ``},
		{"white space only", " \n"},
		{"null", `null`},
		{"array", `[]`},
		{"string", `"tx"`},
		{"unknown field", jsonEdit(t, tx, `"nonce":1`, `"nonce":1,"memo":"hi"`)},
		{"differently cased field", jsonEdit(t, tx, `"amount":5`, `"Amount":5`)},
		{"extra cased duplicate", jsonEdit(t, tx, `"amount":5`, `"amount":5,"AMOUNT":6`)},
		{"duplicate field", jsonEdit(t, tx, `"amount":5`, `"amount":5,"amount":6`)},
		{"missing id", strings.Replace(good, idJSON+",", "", 1)},
		{"missing sender", jsonEdit(t, tx, `"sender":"alice",`, ``)},
		{"missing recipient", jsonEdit(t, tx, `"recipient":"bob",`, ``)},
		{"missing amount", jsonEdit(t, tx, `"amount":5,`, ``)},
		{"missing nonce", jsonEdit(t, tx, `,"nonce":1`, ``)},
		{"null amount", jsonEdit(t, tx, `"amount":5`, `"amount":null`)},
		{"null sender", jsonEdit(t, tx, `"sender":"alice"`, `"sender":null`)},
		{"amount as string", jsonEdit(t, tx, `"amount":5`, `"amount":"5"`)},
		{"fractional amount", jsonEdit(t, tx, `"amount":5`, `"amount":5.5`)},
		{"amount with a zero fraction", jsonEdit(t, tx, `"amount":5`, `"amount":5.0`)},
		{"amount with an exponent", jsonEdit(t, tx, `"amount":5`, `"amount":5e0`)},
		{"negative amount", jsonEdit(t, tx, `"amount":5`, `"amount":-5`)},
		{"negative zero amount", jsonEdit(t, tx, `"amount":5`, `"amount":-0`)},
		{"huge amount", jsonEdit(t, tx, `"amount":5`, `"amount":18446744073709551616`)},
		{"amount with a leading zero", jsonEdit(t, tx, `"amount":5`, `"amount":05`)},
		{"amount as boolean", jsonEdit(t, tx, `"amount":5`, `"amount":true`)},
		{"sender as number", jsonEdit(t, tx, `"sender":"alice"`, `"sender":7`)},
		{"sender as object", jsonEdit(t, tx, `"sender":"alice"`, `"sender":{}`)},
		{"id too short", jsonEdit(t, tx, idJSON, `"id":"abcd"`)},
		{"id not hex", jsonEdit(t, tx, idJSON, `"id":"`+strings.Repeat("zz", 32)+`"`)},
		{"id as number", jsonEdit(t, tx, idJSON, `"id":12`)},
		{"negative nonce", jsonEdit(t, tx, `"nonce":1`, `"nonce":-1`)},
		{"trailing data", good + `{}`},
		{"trailing garbage", good + `x`},
		{"two values", good + " " + good},
		{"unterminated", good[:len(good)-1]},
		{"trailing comma", jsonEdit(t, tx, `"nonce":1`, `"nonce":1,`)},
	}
	for _, tc := range cases {
		got, err := chain.DecodeTransactionJSON([]byte(tc.json))
		if err == nil {
			t.Errorf("%s: DecodeTransactionJSON(%s) = %+v, want an error", tc.name, tc.json, got)
			continue
		}
		if chain.RuleCode(err) != chain.ErrMalformed {
			t.Errorf("%s: error %v has code %v, want malformed", tc.name, err, chain.RuleCode(err))
		}
	}
}

func TestDecodeTransactionJSONKeepsValues(t *testing.T) {
	// Decoding keeps what it is given; Check judges it.
	tx := chaintest.Tx("alice", "bob", 0, 1)
	tx.ID[0] ^= 1
	got, err := chain.DecodeTransactionJSON(mustMarshal(t, tx))
	if err != nil || got != tx {
		t.Fatalf("got %+v, %v; want %+v", got, err, tx)
	}
	chaintest.WantErr(t, got.Check(), chain.ErrBadTransaction)
	// White space and key order are free.
	in := " {\n \"nonce\" : 1 , \"amount\":0,\"recipient\":\"bob\",\"sender\":\"alice\",\"id\":\"" + tx.ID.String() + "\"}\n"
	if got, err := chain.DecodeTransactionJSON([]byte(in)); err != nil || got != tx {
		t.Fatalf("reordered: got %+v, %v", got, err)
	}
}

func TestDecodeBlockJSONStrict(t *testing.T) {
	b := sampleBlock(t)
	good := string(mustMarshal(t, b))
	if _, err := chain.DecodeBlockJSON([]byte(good), 0); err != nil {
		t.Fatalf("DecodeBlockJSON: %v", err)
	}
	tsJSON := `"timestamp":` + b.Timestamp.String()
	hashJSON := `"hash":"` + b.Hash.String() + `"`
	cases := []struct {
		name   string
		json   string
		maxTxs int
		want   chain.ErrorCode
	}{
		{"empty", ``, 0, chain.ErrMalformed},
		{"array", `[` + good + `]`, 0, chain.ErrMalformed},
		{"unknown field", jsonEdit(t, b, `"index":2`, `"index":2,"length":9`), 0, chain.ErrMalformed},
		{"differently cased field", jsonEdit(t, b, `"index":2`, `"Index":2`), 0, chain.ErrMalformed},
		{"duplicate field", jsonEdit(t, b, `"index":2`, `"index":2,"index":3`), 0, chain.ErrMalformed},
		{"missing index", jsonEdit(t, b, `"index":2,`, ``), 0, chain.ErrMalformed},
		{"missing timestamp", jsonEdit(t, b, tsJSON+`,`, ``), 0, chain.ErrMalformed},
		{"missing transactions", jsonEdit(t, b, `"transactions":`, `"x":`), 0, chain.ErrMalformed},
		{"missing hash", jsonEdit(t, b, `,`+hashJSON, ``), 0, chain.ErrMalformed},
		{"missing bits", jsonEdit(t, b, `"bits":537133055,`, ``), 0, chain.ErrMalformed},
		{"missing tx_root", jsonEdit(t, b, `"tx_root":"`+b.TxRoot.String()+`",`, ``), 0, chain.ErrMalformed},
		{"missing previous_hash", jsonEdit(t, b, `"previous_hash":"`+b.PreviousHash.String()+`",`, ``), 0, chain.ErrMalformed},
		{"missing proof", jsonEdit(t, b, fmt.Sprintf(`"proof":%d,`, b.Proof), ``), 0, chain.ErrMalformed},
		{"null transactions", jsonEdit(t, b, `"transactions":[`, `"transactions":null,"y":[`), 0, chain.ErrMalformed},
		{"transactions as object", jsonEdit(t, b, `"transactions":[`, `"transactions":{"a":[`), 0, chain.ErrMalformed},
		{"transaction as string", jsonEdit(t, b, `"transactions":[`, `"transactions":["x",`), 0, chain.ErrMalformed},
		{"transaction with an unknown field", jsonEdit(t, b, `"nonce":1`, `"nonce":1,"fee":0`), 0, chain.ErrMalformed},
		{"transaction with a fractional amount", jsonEdit(t, b, `"amount":5`, `"amount":5.25`), 0, chain.ErrMalformed},
		{"null index", jsonEdit(t, b, `"index":2`, `"index":null`), 0, chain.ErrMalformed},
		{"negative index", jsonEdit(t, b, `"index":2`, `"index":-2`), 0, chain.ErrMalformed},
		{"fractional index", jsonEdit(t, b, `"index":2`, `"index":2.5`), 0, chain.ErrMalformed},
		{"index as string", jsonEdit(t, b, `"index":2`, `"index":"2"`), 0, chain.ErrMalformed},
		{"bits overflow", jsonEdit(t, b, `"bits":537133055`, `"bits":4294967296`), 0, chain.ErrMalformed},
		{"timestamp as string", jsonEdit(t, b, tsJSON, `"timestamp":"`+b.Timestamp.String()+`"`), 0, chain.ErrMalformed},
		{"timestamp with 7 fractional digits", jsonEdit(t, b, tsJSON, tsJSON+`0`), 0, chain.ErrMalformed},
		{"timestamp with an exponent", jsonEdit(t, b, tsJSON, `"timestamp":1.7e9`), 0, chain.ErrMalformed},
		{"timestamp out of range", jsonEdit(t, b, tsJSON, `"timestamp":9223372036854.775808`), 0, chain.ErrMalformed},
		{"hash too short", jsonEdit(t, b, hashJSON, `"hash":"00"`), 0, chain.ErrMalformed},
		{"hash as number", jsonEdit(t, b, hashJSON, `"hash":0`), 0, chain.ErrMalformed},
		{"trailing data", good + `[]`, 0, chain.ErrMalformed},
		{"too many transactions", good, 2, chain.ErrTooLarge},
	}
	for _, tc := range cases {
		got, err := chain.DecodeBlockJSON([]byte(tc.json), tc.maxTxs)
		if err == nil {
			t.Errorf("%s: DecodeBlockJSON(%s) = %+v, want an error", tc.name, tc.json, got)
			continue
		}
		if chain.RuleCode(err) != tc.want {
			t.Errorf("%s: error %v has code %v, want %v", tc.name, err, chain.RuleCode(err), tc.want)
		}
	}
}

func TestHashText(t *testing.T) {
	h := sampleBlock(t).Hash
	text, err := h.MarshalText()
	if err != nil || string(text) != h.String() || len(text) != 64 {
		t.Fatalf("MarshalText = %q, %v", text, err)
	}
	var back chain.Hash
	if err := back.UnmarshalText(text); err != nil || back != h {
		t.Fatalf("UnmarshalText: %v, %v", back, err)
	}
	if got, err := chain.ParseHash(strings.ToUpper(h.String())); err != nil || got != h {
		t.Errorf("upper-case hex: %v, %v", got, err)
	}
	var j chain.Hash
	if err := json.Unmarshal(mustMarshal(t, h), &j); err != nil || j != h {
		t.Errorf("JSON round trip: %v, %v", j, err)
	}
	for _, bad := range []string{"", "00", h.String()[:63], h.String() + "0", strings.Repeat("g", 64), " " + h.String()[1:]} {
		if _, err := chain.ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q) succeeded", bad)
		}
	}
	if !(chain.Hash{}).IsZero() || h.IsZero() {
		t.Error("IsZero")
	}
}

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		in   string
		want chain.Timestamp
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1_000_000, true},
		{"1700000000", 1_700_000_000_000_000, true},
		{"1700000000.5", 1_700_000_000_500_000, true},
		{"1700000000.123456", 1_700_000_000_123_456, true},
		{"1700000000.000001", 1_700_000_000_000_001, true},
		{"0.000001", 1, true},
		{"-0.000001", -1, true},
		{"-1.5", -1_500_000, true},
		{"-0", 0, true},
		{"9223372036854.775807", math.MaxInt64, true},
		{"-9223372036854.775808", math.MinInt64, true},
		{"9223372036854.775808", 0, false},
		{"9223372036854.999999", 0, false},
		{"-9223372036854.775809", 0, false},
		{"9223372036855", 0, false},
		{"99999999999999999999", 0, false},
		{"1700000000.1234567", 0, false},
		{"1700000000.", 0, false},
		{".5", 0, false},
		{"-", 0, false},
		{"", 0, false},
		{"+1", 0, false},
		{"01", 0, false},
		{"1e9", 0, false},
		{"1E9", 0, false},
		{"1.5e3", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"--1", 0, false},
		{"1.-5", 0, false},
		{"0x10", 0, false},
		{`"1"`, 0, false},
		{"null", 0, false},
		{"NaN", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tc := range cases {
		got, err := chain.ParseTimestamp(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if !tc.ok && err == nil {
			t.Errorf("ParseTimestamp(%q) = %d, want an error", tc.in, got)
		}
	}
}

func TestTimestampString(t *testing.T) {
	cases := []struct {
		ts   chain.Timestamp
		want string
	}{
		{0, "0.000000"},
		{1, "0.000001"},
		{-1, "-0.000001"},
		{1_500_000, "1.500000"},
		{-1_500_000, "-1.500000"},
		{chain.GenesisTimestamp, "1704067200.000000"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tc := range cases {
		if got := tc.ts.String(); got != tc.want {
			t.Errorf("Timestamp(%d).String() = %q, want %q", int64(tc.ts), got, tc.want)
		}
		if back, err := chain.ParseTimestamp(tc.want); err != nil || back != tc.ts {
			t.Errorf("ParseTimestamp(%q) = %d, %v", tc.want, back, err)
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 10_000 {
		ts := chain.Timestamp(r.Uint64())
		var back chain.Timestamp
		if err := json.Unmarshal(mustMarshal(t, ts), &back); err != nil || back != ts {
			t.Fatalf("JSON round trip of %d: %d, %v", int64(ts), back, err)
		}
	}
	if got := chain.TimestampOf(chain.GenesisTimestamp.Time()); got != chain.GenesisTimestamp {
		t.Errorf("TimestampOf(Time()) = %d", got)
	}
}

func TestDecodeStrict(t *testing.T) {
	var v struct{ A int }
	for _, bad := range []string{``, `{"A":1,"B":2}`, `{"A":"x"}`, `{"A":1} 1`, `{"A":1`} {
		if err := chain.DecodeStrict([]byte(bad), &v); err == nil {
			t.Errorf("DecodeStrict(%s) succeeded", bad)
		}
	}
	if err := chain.DecodeStrict([]byte(" {\"A\":3}\n"), &v); err != nil || v.A != 3 {
		t.Errorf("DecodeStrict: %v, %v", v, err)
	}
	if err := chain.DecodeStrict([]byte(`{"A":1.5}`), &v); err == nil || errors.Is(err, chain.ErrMalformed) {
		t.Errorf("DecodeStrict wrong type: %v", err)
	}
}
