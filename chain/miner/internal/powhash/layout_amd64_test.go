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
		{"abef6", unsafe.Offsetof(s.abef6), 0},
		{"cdgh6", unsafe.Offsetof(s.cdgh6), 16},
		{"abef0", unsafe.Offsetof(s.abef0), 32},
		{"cdgh0", unsafe.Offsetof(s.cdgh0), 48},
		{"w45", unsafe.Offsetof(s.w45), 64},
		{"k67", unsafe.Offsetof(s.k67), 80},
		{"w8", unsafe.Offsetof(s.w8), 96},
		{"w13", unsafe.Offsetof(s.w13), 112},
		{"m0", unsafe.Offsetof(s.m0), 128},
		{"m2", unsafe.Offsetof(s.m2), 144},
		{"m3", unsafe.Offsetof(s.m3), 160},
		{"kw8", unsafe.Offsetof(s.kw8), 176},
		{"kw12", unsafe.Offsetof(s.kw12), 192},
		{"kw16", unsafe.Offsetof(s.kw16), 208},
		{"mask", unsafe.Offsetof(s.mask), 224},
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("offset of %s = %d, want %d", o.name, o.got, o.want)
		}
	}
}
