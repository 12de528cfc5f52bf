package chain_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"unicode"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// printableVectors is the format of testdata/printable.json (written by
// testdata/gen_printable_vectors.py from the UCD of Unicode 15.0.0).
type printableVectors struct {
	UnicodeVersion string    `json:"unicode_version"`
	PrintableCount int       `json:"printable_count"`
	Ranges         [][2]rune `json:"ranges"`
	DifferFrom14   struct {
		Count  int       `json:"count"`
		Ranges [][2]rune `json:"ranges"`
	} `json:"differ_from_14"`
	Cases []struct {
		CodePoint rune   `json:"code_point"`
		Hex       string `json:"hex"`
		Printable bool   `json:"printable"`
		Note      string `json:"note"`
	} `json:"cases"`
}

// TestPrintableVectors checks every code point's verdict against the
// table of Unicode 15.0.0, and passes the cases through the decoders.
func TestPrintableVectors(t *testing.T) {
	var v printableVectors
	chaintest.ReadVectors(t, "printable.json", &v)
	if v.UnicodeVersion != unicode.Version {
		t.Fatalf("vectors of Unicode %s, Go's tables are %s: the rule is pinned to %s", v.UnicodeVersion, unicode.Version, v.UnicodeVersion)
	}
	in := make([]bool, unicode.MaxRune+1)
	count := 0
	for i, r := range v.Ranges {
		if r[0] > r[1] || r[1] > unicode.MaxRune || (i > 0 && r[0] <= v.Ranges[i-1][1]+1) {
			t.Fatalf("range %d %v: not in order, disjoint and apart", i, r)
		}
		for c := r[0]; c <= r[1]; c++ {
			in[c] = true
			count++
		}
	}
	if count != v.PrintableCount {
		t.Fatalf("ranges hold %d code points, want %d", count, v.PrintableCount)
	}
	wrong := 0
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if unicode.IsPrint(c) != in[c] {
			if wrong++; wrong <= 10 {
				t.Errorf("U+%04X: unicode.IsPrint %v, the table %v", c, unicode.IsPrint(c), in[c])
			}
		}
	}
	if wrong > 0 {
		t.Fatalf("%d code points differ", wrong)
	}
	differ := 0
	for _, r := range v.DifferFrom14.Ranges {
		for c := r[0]; c <= r[1]; c++ {
			if !in[c] {
				t.Fatalf("U+%04X differs from Unicode 14 but is not printable", c)
			}
			differ++
		}
	}
	if differ != v.DifferFrom14.Count {
		t.Fatalf("%d code points differ from Unicode 14, want %d", differ, v.DifferFrom14.Count)
	}

	for _, c := range v.Cases {
		t.Run(c.Hex, func(t *testing.T) {
			if in[c.CodePoint] != c.Printable {
				t.Fatalf("the ranges say %v, the case %v (%s)", in[c.CodePoint], c.Printable, c.Note)
			}
			// The binary form: a recipient holding the code point, as
			// UTF-8 (a surrogate as the bytes of its 3-byte form,
			// which are not valid UTF-8).
			text := "a" + string(c.CodePoint) + "z"
			if c.CodePoint >= 0xD800 && c.CodePoint <= 0xDFFF {
				text = "a" + string([]byte{0xED, byte(0x80 | (c.CodePoint>>6)&0x3F), byte(0x80 | c.CodePoint&0x3F)}) + "z"
			}
			tx := chaintest.Tx("alice", text, 1, 0)
			got, err := chain.DecodeTransaction(tx.AppendBinary(nil))
			if err == nil {
				err = got.CheckFields()
			}
			if (err == nil) != c.Printable {
				t.Errorf("binary: %v, want printable %v (%s)", err, c.Printable, c.Note)
			}
			// The JSON form, the code point escaped as \uXXXX (a pair
			// of surrogates above U+FFFF).
			esc := ""
			if c.CodePoint > 0xFFFF {
				hi, lo := utf16Pair(c.CodePoint)
				esc = fmt.Sprintf(`\u%04x\u%04x`, hi, lo)
			} else {
				esc = fmt.Sprintf(`\u%04x`, c.CodePoint)
			}
			sender, _ := json.Marshal("alice")
			body := fmt.Sprintf(`{"id":"%s","sender":%s,"recipient":"a%sz","amount":1,"nonce":0}`, tx.ID, sender, esc)
			got, err = chain.DecodeTransactionJSON([]byte(body))
			if err == nil && got.Recipient != text {
				// A lone surrogate is refused, never replaced.
				t.Fatalf("JSON %s: recipient %q, want %q", body, got.Recipient, text)
			}
			if err == nil {
				err = got.Check()
			}
			if (err == nil) != c.Printable {
				t.Errorf("JSON %s: %v, want printable %v (%s)", body, err, c.Printable, c.Note)
			}
		})
	}
}

func utf16Pair(r rune) (hi, lo rune) {
	r -= 0x10000
	return 0xD800 + r>>10, 0xDC00 + r&0x3FF
}
