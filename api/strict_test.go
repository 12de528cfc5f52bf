package api

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckDuplicateKeys: a key twice in one object, at any depth, written
// alike or with escapes, is refused; the same key in different objects,
// and key-like text inside strings and arrays, is not.
func TestCheckDuplicateKeys(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	for _, c := range []struct {
		json string
		dup  string // the key reported, "" for none
	}{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":{"b":1},"c":{"b":2}}`, ""},
		{`{"a":{"b":1,"b":2}}`, "b"},
		{`{"a":1,"\u0061":2}`, "a"},
		{`{"a\"":1,"a":2}`, ""},
		{`{"a":"\"a\":","b":["a","a"]}`, ""},
		{`[{"a":1},{"a":1}]`, ""},
		{`[{"a":1,"x":[{"a":2}],"a":3}]`, "a"},
		{`{"s":"{\"a\":1,\"a\":2}"}`, ""},
		{"{" + strings.Join(many, ",") + "}", ""},
		{"{" + strings.Join(many, ",") + `,"k7":0}`, "k7"},
	} {
		err := checkDuplicateKeys([]byte(c.json))
		switch {
		case c.dup == "" && err != nil:
			t.Errorf("%s: %v", c.json, err)
		case c.dup != "" && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q appears twice", c.dup))):
			t.Errorf("%s: got %v, want %q twice", c.json, err, c.dup)
		}
	}
	deep := strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2)
	if err := checkDuplicateKeys([]byte(deep)); err == nil {
		t.Error("nesting deeper than the bound accepted")
	}
}
