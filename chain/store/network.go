package store

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
)

// metaParams holds the canonical encoding of the network's parameters
// (chain.NetParams.AppendBinary), so that a refusal can name the parameter
// in which the stored chain's network differs. The key came after format
// 3: a store without it opens as before, and gets it the first time it
// opens for its own network; readers that predate it never look at it.
var metaParams = []byte("params")

// checkNetwork refuses a store of another network than p's, whose genesis
// is genesis.
func checkNetwork(meta *bolt.Bucket, p *chain.Params, genesis *chain.Block) error {
	stored := meta.Get(metaGenesis)
	if string(stored) == string(genesis.Hash[:]) {
		return nil
	}
	var storedHash chain.Hash
	copy(storedHash[:], stored)
	storedParams, known := chain.NetParams{}, false
	if enc := meta.Get(metaParams); enc != nil {
		storedParams, known = decodeStoredParams(enc, storedHash)
	}
	if !known {
		storedParams, known = chain.GuessNetParams(storedHash, p.Net(), string(meta.Get(metaNetwork)))
	}
	return wrongNetwork(string(meta.Get(metaNetwork)), storedHash, storedParams, known, p, genesis.Hash)
}

// decodeStoredParams decodes the stored parameters, which must commit to
// the stored genesis.
func decodeStoredParams(enc []byte, genesis chain.Hash) (chain.NetParams, bool) {
	np, err := chain.DecodeNetParams(enc)
	if err != nil {
		return np, false
	}
	p := np.Params()
	return np, p.Genesis().Hash == genesis
}

// wrongNetwork is the refusal of a store of network name, whose genesis is
// stored and whose parameters are storedParams when known, by a node of
// parameters p and genesis ours: it names the differing parameters as the
// flags set them, and what to do.
func wrongNetwork(name string, stored chain.Hash, storedParams chain.NetParams, known bool, p *chain.Params, ours chain.Hash) error {
	const elsewhere = "use another data directory (--datadir, or scripts/devnet.sh --wipe for a devnet's)"
	if !known {
		return fmt.Errorf("%w: the store holds a chain of network %q with genesis %s, this node runs genesis %s, "+
			"and no other --network, --ledger, --difficulty, --initial-difficulty, --target-block-time or --half-life near this node's gives the stored genesis; "+
			"start the node with the flags that made that chain, or %s",
			chain.ErrWrongNetwork, name, stored, ours, elsewhere)
	}
	theirs, mine := chain.Settings(storedParams, p.Net())
	fix := "start the node with " + theirs + " to use that chain, or " + elsewhere
	if strings.Contains(theirs, "set by no flag") {
		fix = "that chain was made by another build of gossipchain; " + elsewhere
	}
	return fmt.Errorf("%w: the store holds a chain of network %q made with %s, this node runs with %s; %s",
		chain.ErrWrongNetwork, name, theirs, mine, fix)
}

// putParams records the parameters of a store of this network that lacks
// them (one made before the key existed).
func putParams(db *bolt.DB, p *chain.Params) error {
	var missing bool
	if err := db.View(func(tx *bolt.Tx) error {
		missing = tx.Bucket(bucketMeta).Get(metaParams) == nil
		return nil
	}); err != nil || !missing {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error { return putParamsTx(tx.Bucket(bucketMeta), p) })
}

func putParamsTx(meta *bolt.Bucket, p *chain.Params) error {
	np := p.Net()
	enc, err := np.AppendBinary(nil)
	if err != nil {
		return err
	}
	return meta.Put(metaParams, enc)
}
