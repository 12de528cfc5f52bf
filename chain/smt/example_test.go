package smt_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/gossipchain/gossipchain/chain/smt"
)

// A map of two accounts: a block's changes give a new root, and a proof
// from a full node convinces a client that holds only the root.
func Example() {
	store := smt.NewMemStore()
	alice, bob := sha256.Sum256([]byte("alice")), sha256.Sum256([]byte("bob"))
	balance := sha256.Sum256([]byte("balance 5, next nonce 1"))
	root, err := smt.Apply(store, smt.Empty, []smt.Change{{Key: alice, Value: balance}})
	if err != nil {
		fmt.Println(err)
		return
	}

	inclusion, _ := smt.Prove(store, root, alice)
	absence, _ := smt.Prove(store, root, bob)
	in, _ := inclusion.MarshalBinary()
	out, _ := absence.MarshalBinary()
	fmt.Println("alice:", smt.Verify(root, alice, &balance, in))
	fmt.Println("bob absent:", smt.Verify(root, bob, nil, out))
	fmt.Println("bob claimed present:", smt.Verify(root, bob, &balance, out) != nil)
	// Output:
	// alice: <nil>
	// bob absent: <nil>
	// bob claimed present: true
}
