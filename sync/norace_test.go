//go:build !race

package sync

// raceEnabled: the tests run under the race detector.
const raceEnabled = false
