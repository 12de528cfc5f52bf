// Package chaintest builds what tests and tools need of the values package
// chain: network parameters at a difficulty that makes proof of work nearly
// free, deterministic keys, transactions, blocks mined on a parent, one at a
// time or as a Run (a funded chain among them), and the vectors of the
// repository's testdata directory. Tests call the functions that take a
// testing.TB; tools call the ones that return an error instead (MineBlock,
// MineFrom, UnmineFrom, Run.Build).
//
// On a signed network it tracks the accounts of the chains it builds, so
// that every block it makes states the state_root of the accounts after it
// (state.go, with an in-memory chain/smt map).
//
// Of gossipchain's packages it imports only chain and chain/smt, so that every package's
// tests, the benchmarks and the tools build their blocks the same way;
// storing them is left to the caller (chain/store).
package chaintest
