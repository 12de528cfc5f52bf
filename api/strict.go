package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// maxJSONDepth bounds the nesting checkDuplicateKeys follows.
const maxJSONDepth = 64

// checkDuplicateKeys reports an object of data, at any depth, that holds
// the same key twice: encoding/json would keep the last one silently.
// data is valid JSON (chain.DecodeStrict accepted it): the check scans its
// bytes once, skipping strings, and compares the keys of each object
// (unescaped when they hold an escape, so that "a" and "\u0061" are the
// same key).
func checkDuplicateKeys(data []byte) error {
	type object struct {
		keys     []string
		set      map[string]struct{} // the keys, once there are many
		wantsKey bool                // the next string is a key
	}
	var stack []*object // nil entries for arrays
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{', '[':
			if len(stack) > maxJSONDepth {
				return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
			}
			var o *object
			if data[i] == '{' {
				o = &object{wantsKey: true}
			}
			stack = append(stack, o)
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1] != nil {
				stack[n-1].wantsKey = true
			}
		case '"':
			end := stringEnd(data, i)
			if n := len(stack); n > 0 && stack[n-1] != nil && stack[n-1].wantsKey {
				o := stack[n-1]
				o.wantsKey = false
				key, err := jsonKey(data[i : end+1])
				if err != nil {
					return err
				}
				if o.set == nil && len(o.keys) >= 16 {
					o.set = make(map[string]struct{}, 2*len(o.keys))
					for _, k := range o.keys {
						o.set[k] = struct{}{}
					}
				}
				var dup bool
				if o.set != nil {
					_, dup = o.set[key]
					o.set[key] = struct{}{}
				} else {
					dup = slices.Contains(o.keys, key)
					o.keys = append(o.keys, key)
				}
				if dup {
					return fmt.Errorf("key %q appears twice", key)
				}
			}
			i = end
		}
	}
	return nil
}

// stringEnd returns the index of the closing quote of the JSON string
// that opens at data[start].
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data) - 1
}

// jsonKey returns the text of the quoted JSON string raw.
func jsonKey(raw []byte) (string, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}
