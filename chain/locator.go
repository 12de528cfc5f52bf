package chain

// LocatorHeights returns the heights of a block locator for a main chain
// whose head is at height: the head and the 9 blocks below it one by one,
// then spacing doubling at every step (head-11, head-15, head-23, ...),
// above the genesis, at most max-1 heights. A locator is their hashes
// followed by the genesis's.
func LocatorHeights(height uint64, max int) []uint64 {
	var out []uint64
	step := uint64(1)
	for h := height; h > 1 && len(out) < max-1; {
		out = append(out, h)
		if len(out) >= 10 {
			step *= 2
		}
		if h <= step {
			break
		}
		h -= step
	}
	return out
}
