//go:build amd64 && !purego

package powhash

import (
	"testing"
	"unsafe"
)

// TestSHANIStateLayout checks the offsets hard-coded in gen_amd64.go.
func TestSHANIStateLayout(t *testing.T) {
	var s shaniState
	offsets := []struct {
		name      string
		got, want uintptr
	}{
		{"abef0", unsafe.Offsetof(s.abef0), 0},
		{"cdgh0", unsafe.Offsetof(s.cdgh0), 16},
		{"w23", unsafe.Offsetof(s.w23), 32},
		{"m1", unsafe.Offsetof(s.m1), 48},
		{"m3", unsafe.Offsetof(s.m3), 64},
		{"w9", unsafe.Offsetof(s.w9), 80},
		{"m1s", unsafe.Offsetof(s.m1s), 96},
		{"m2s", unsafe.Offsetof(s.m2s), 112},
		{"kw4", unsafe.Offsetof(s.kw4), 128},
		{"kw8", unsafe.Offsetof(s.kw8), 144},
		{"kw12", unsafe.Offsetof(s.kw12), 160},
		{"mask", unsafe.Offsetof(s.mask), 176},
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("offset of %s = %d, want %d", o.name, o.got, o.want)
		}
	}
}
