package chain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timestamp is a block time in whole microseconds since the Unix epoch.
//
// In JSON it is a number of Unix seconds with up to six fractional digits,
// as in the tutorial (`1700000000.123456`). Encoding always writes six
// digits and decoding accepts at most six, so a timestamp survives any
// number of JSON round trips unchanged and every node hashes the same value.
type Timestamp int64

// TimestampOf converts t to a Timestamp, truncating to the microsecond.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UnixMicro()) }

// Time converts ts back to a time.Time.
func (ts Timestamp) Time() time.Time { return time.UnixMicro(int64(ts)) }

// String formats ts as JSON does: seconds, a dot and six digits.
func (ts Timestamp) String() string {
	// The magnitude as a uint64, so that the most negative value works too.
	v := uint64(ts)
	sign := ""
	if ts < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%06d", sign, v/1e6, v%1e6)
}

// MarshalJSON implements json.Marshaler.
func (ts Timestamp) MarshalJSON() ([]byte, error) { return []byte(ts.String()), nil }

// UnmarshalJSON implements json.Unmarshaler. It accepts a plain decimal
// number of seconds with at most six fractional digits; exponents, strings
// and values outside the range of a Timestamp are errors.
func (ts *Timestamp) UnmarshalJSON(data []byte) error {
	v, err := ParseTimestamp(string(data))
	if err != nil {
		return err
	}
	*ts = v
	return nil
}

// ParseTimestamp parses a decimal number of Unix seconds with at most six
// fractional digits, no exponent, no leading zeros and no sign other than
// a leading '-'. The value must fit a Timestamp.
func ParseTimestamp(s string) (Timestamp, error) {
	orig := s
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("timestamp %q: want Unix seconds such as 1700000000.123456", orig)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("timestamp %q: more than 6 fractional digits", orig)
	}
	if len(whole) > 1 && whole[0] == '0' {
		return 0, fmt.Errorf("timestamp %q: leading zero", orig)
	}
	// The magnitude in microseconds, at most 2^63 (-2^63 is a Timestamp).
	const limit uint64 = 1 << 63
	secs, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || secs > limit/1_000_000 {
		return 0, fmt.Errorf("timestamp %q: out of range", orig)
	}
	var micros uint64
	if frac != "" {
		micros, _ = strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	v := secs*1e6 + micros
	if v > limit || v == limit && !neg {
		return 0, fmt.Errorf("timestamp %q: out of range", orig)
	}
	if neg {
		return Timestamp(-v), nil
	}
	return Timestamp(v), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
