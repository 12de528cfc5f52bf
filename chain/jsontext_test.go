package chain_test

import (
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

// TestJSONAddressesNotRewritten: invalid UTF-8 and lone surrogates, which
// encoding/json turns into U+FFFD, are refused by every strict decoder;
// valid text, surrogate pairs and escaped backslashes before a "u" pass.
func TestJSONAddressesNotRewritten(t *testing.T) {
	tx := func(sender string) string {
		return `{"id":"` + strings.Repeat("0", 64) + `","sender":"` + sender + `","recipient":"bob","amount":1,"nonce":0}`
	}
	cases := []struct {
		sender string // raw JSON text inside the quotes
		bad    bool   // refused as not faithful text
	}{
		{"alice", false},
		{"\xff", true},           // invalid byte
		{"a\xc3", true},          // truncated sequence
		{"\xed\xa0\x80", true},   // surrogate encoded in UTF-8
		{`\ud800`, true},         // lone high surrogate
		{`\udc00`, true},         // lone low surrogate
		{`\ud800x`, true},        // high surrogate then a letter
		{`\ud800\u0041`, true},   // high surrogate then a non-surrogate escape
		{`\ud83d\ude00`, false},  // a pair: U+1F600
		{`\\ud800`, false},       // an escaped backslash, then the letters "ud800"
		{"\uFFFD", false},        // U+FFFD itself is a character
		{`\u00e9t\u00e9`, false}, // plain escapes
	}
	for _, c := range cases {
		data := []byte(tx(c.sender))
		err := chain.CheckJSONText(data)
		if (err != nil) != c.bad {
			t.Errorf("checkJSONText(%q) = %v, want refused %v", c.sender, err, c.bad)
		}
		_, derr := chain.DecodeTransactionJSON(data)
		if c.bad && (derr == nil || chain.RuleCode(derr) != chain.ErrMalformed) {
			t.Errorf("DecodeTransactionJSON(%q) = %v, want ErrMalformed", c.sender, derr)
		}
		var v struct{ Sender string }
		serr := chain.DecodeStrict([]byte(`{"sender":"`+c.sender+`"}`), &v)
		if (serr != nil) != c.bad {
			t.Errorf("DecodeStrict(%q) = %v, want refused %v", c.sender, serr, c.bad)
		}
	}
}
