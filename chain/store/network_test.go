package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// devnetParams returns the parameters the gossipchain command makes of
// --ledger and --difficulty (-1: none, the network retargets).
func devnetParams(t *testing.T, ledger string, difficulty int) chain.Params {
	t.Helper()
	p := chain.DefaultParams()
	if difficulty >= 0 {
		var err error
		if p, err = chain.NewParams(chain.DefaultNetwork, uint32(difficulty)); err != nil {
			t.Fatal(err)
		}
	}
	if ledger != chain.LedgerOpen {
		p.Ledger = ledger
	}
	return p
}

// TestOpenWrongNetworkNamesFlags checks the refusal of a store of another
// network, word for word: it names the flags that differ, as the user types
// them, and what to do.
func TestOpenWrongNetworkNamesFlags(t *testing.T) {
	const fix = "use another data directory (--datadir, or scripts/devnet.sh --wipe for a devnet's)"
	open, signed := devnetParams(t, chain.LedgerOpen, -1), devnetParams(t, chain.LedgerSigned, -1)
	tests := []struct {
		stored, runs chain.Params
		want         string
	}{
		{open, signed, `wrong network: the store holds a chain of network "devnet" made with --ledger open, ` +
			`this node runs with --ledger signed; start the node with --ledger open to use that chain, or ` + fix},
		{devnetParams(t, chain.LedgerOpen, 12), open, `wrong network: the store holds a chain of network "devnet" made with --difficulty 12, ` +
			`this node runs with no --difficulty (it retargets from 22 bits); start the node with --difficulty 12 to use that chain, or ` + fix},
		{devnetParams(t, chain.LedgerSigned, 20), open, `wrong network: the store holds a chain of network "devnet" made with --ledger signed and --difficulty 20, ` +
			`this node runs with --ledger open and no --difficulty (it retargets from 22 bits); start the node with --ledger signed and --difficulty 20 to use that chain, or ` + fix},
	}
	for _, tt := range tests {
		cfg := testConfig(t, tt.stored)
		openChain(t, cfg).Close()
		runs := cfg
		runs.Params = tt.runs
		_, err := Open(runs)
		chaintest.WantErr(t, err, chain.ErrWrongNetwork)
		if want := fmt.Sprintf("open store %s: %s", cfg.Path, tt.want); err.Error() != want {
			t.Errorf("error\n %s\nwant\n %s", err, want)
		}
	}
}

// TestOpenWrongNetworkOlderStore checks a store made before the parameters
// were recorded: a refusal guesses them from the genesis, and opening it
// for its own network records them.
func TestOpenWrongNetworkOlderStore(t *testing.T) {
	open, signed := devnetParams(t, chain.LedgerOpen, -1), devnetParams(t, chain.LedgerSigned, -1)
	cfg := testConfig(t, open)
	openChain(t, cfg).Close()
	corrupt(t, cfg.Path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaParams) })

	runs := cfg
	runs.Params = signed
	_, err := Open(runs)
	want := "start the node with --ledger open to use that chain"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("older store refused with %v, want %q", err, want)
	}
	// An odd block time is beyond the guess: the refusal says so.
	odd := open
	odd.TargetBlockTime, odd.HalfLife = 7*time.Second, chain.DefaultHalfLifeBlocks*7*time.Second
	cfgOdd := testConfig(t, odd)
	openChain(t, cfgOdd).Close()
	corrupt(t, cfgOdd.Path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaParams) })
	runs = cfgOdd
	runs.Params = open
	_, err = Open(runs)
	oddGenesis, openGenesis := odd.Genesis().Hash, open.Genesis().Hash
	wantErr := fmt.Sprintf(`open store %s: wrong network: the store holds a chain of network "devnet" with genesis %s, this node runs genesis %s, `+
		`and no other --network, --ledger, --difficulty, --initial-difficulty, --target-block-time or --half-life near this node's gives the stored genesis; `+
		`start the node with the flags that made that chain, or use another data directory (--datadir, or scripts/devnet.sh --wipe for a devnet's)`,
		cfgOdd.Path, oddGenesis, openGenesis)
	if err == nil || err.Error() != wantErr {
		t.Fatalf("error\n %v\nwant\n %s", err, wantErr)
	}

	// Opened for its own network, the older store gets its parameters.
	openChain(t, cfgOdd).Close()
	_, err = Open(runs)
	if want := "start the node with --target-block-time 7s to use that chain"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("after an open, refused with %v, want %q", err, want)
	}
}
