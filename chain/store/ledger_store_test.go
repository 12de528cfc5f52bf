package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"

	"github.com/gossipchain/gossipchain/chain"
	"github.com/gossipchain/gossipchain/chain/chaintest"
)

// storedVersion reads the format of the store at path.
func storedVersion(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint64
	_ = db.View(func(tx *bolt.Tx) error {
		v, err = metaHeight(tx, metaVersion)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func equalHashes(a, b []chain.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFormat1FixtureOpensIntoCurrentFormat: the new chain that replaces a
// set-aside store is of the current format.
func TestFormat1FixtureOpensIntoCurrentFormat(t *testing.T) {
	raw, err := os.ReadFile(format1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, chaintest.ParamsAt(t, chaintest.Difficulty))
	if err := os.WriteFile(cfg.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c := openChain(t, cfg)
	if c.PendingCount() == 0 {
		t.Fatal("no pending transaction re-admitted")
	}
	c.Close()
	if v := storedVersion(t, cfg.Path); v != storeVersion {
		t.Fatalf("version %d, want %d", v, storeVersion)
	}
}

// TestLedgerModeSeparatesNetworks: the ledger mode is committed to by the
// genesis, so the same name with another mode is another network: another
// genesis (which the status exchange compares, so nodes never connect), and
// a store of one refuses the other.
func TestLedgerModeSeparatesNetworks(t *testing.T) {
	open := chaintest.ParamsAt(t, chaintest.Difficulty)
	signed := chaintest.SignedParams(t)
	if open.Genesis().Hash == signed.Genesis().Hash {
		t.Fatal("open and signed networks share a genesis")
	}
	np := signed.Net()
	enc, err := np.AppendBinary(nil)
	if err != nil || !bytes.HasSuffix(enc, []byte("\x06signed")) {
		t.Fatalf("encoding %x, %v", enc, err)
	}
	cfg := testConfig(t, open)
	c := openChain(t, cfg)
	c.Close()
	cfg.Params = signed
	if _, err := Open(cfg); !errors.Is(err, chain.ErrWrongNetwork) {
		t.Fatalf("an open network's store opened as signed: %v", err)
	}
}

// TestSignedReplayRefused: a transaction signed for one network does not
// verify on another (even of the same name with other parameters), and is
// refused a second time on its own.
func TestSignedReplayRefused(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 10
	c := openChain(t, testConfig(t, p))
	other := p
	other.Reward = 11 // the same name, another network
	c2 := openChain(t, testConfig(t, other))
	key, addr := chaintest.Key(t, "alice")
	_, bob := chaintest.Key(t, "bob")
	mustAdd(t, c, chaintest.NextBlock(t, &p, c.Genesis(), addr))
	b2 := chaintest.NextBlock(t, &other, c2.Genesis(), addr)
	mustAdd(t, c2, b2)

	tx := signedTx(t, c, key, bob, 5, 0)
	chaintest.WantErr(t, c2.AddTransaction(tx), chain.ErrBadSignature)
	_, err := c2.AddBlock(chaintest.NextBlock(t, &other, b2, addr, tx))
	chaintest.WantErr(t, err, chain.ErrBadSignature)

	if err := c.AddTransaction(tx); err != nil {
		t.Fatal(err)
	}
	chaintest.WantErr(t, c.AddTransaction(tx), chain.ErrKnownTransaction)
	head, _ := c.BlockByHeight(2)
	b3 := chaintest.NextBlock(t, &p, head, addr, tx)
	mustAdd(t, c, b3)
	chaintest.WantErr(t, c.AddTransaction(tx), chain.ErrKnownTransaction)
	_, err = c.AddBlock(chaintest.NextBlock(t, &p, b3, addr, tx))
	chaintest.WantErr(t, err, chain.ErrDuplicateTx)
	// The same payment signed again is the same transaction (Ed25519 is
	// deterministic); another with the used nonce is refused by the nonce.
	chaintest.WantErr(t, c.AddTransaction(signedTx(t, c, key, bob, 4, 0)), chain.ErrBadNonce)
	_, err = c.AddBlock(chaintest.NextBlock(t, &p, b3, addr, signedTx(t, c, key, bob, 4, 0)))
	chaintest.WantErr(t, err, chain.ErrBadNonce)
	wantAccount(t, c, addr, 15, 1)
}

// TestKeyFiles: a key file is the node's identity file format, 0600, never
// overwritten, and its address is the node's peer ID.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	k, err := chain.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wallet.key")
	if err := chain.SaveKey(path, k); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	if err := chain.SaveKey(path, k); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second SaveKey: %v", err)
	}
	got, err := chain.LoadKey(path)
	if err != nil || !got.Equals(k) {
		t.Fatalf("LoadKey: %v", err)
	}
	// An identity file, as p2p writes it, is a wallet key.
	ident, _, _ := crypto.GenerateEd25519Key(nil)
	raw, _ := crypto.MarshalPrivateKey(ident)
	idPath := filepath.Join(dir, "identity.key")
	if err := os.WriteFile(idPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := chain.LoadKey(idPath)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := chain.AddressOf(loaded)
	id, _ := peer.IDFromPrivateKey(ident)
	if addr != id.String() {
		t.Fatalf("address %s, peer ID %s", addr, id)
	}
	pub, err := chain.PublicKeyOf(addr)
	if raw, _ := ident.GetPublic().Raw(); err != nil || !bytes.Equal(pub, raw) {
		t.Fatalf("PublicKeyOf: %x, %v", pub, err)
	}
	// Every key's address has the length and prefix PublicKeyOf expects:
	// the two extreme keys bound the base58 numbers of all the others.
	for _, raw := range [][]byte{bytes.Repeat([]byte{0}, 32), bytes.Repeat([]byte{0xff}, 32)} {
		a, err := chain.AddressOfPublicKey(raw)
		if err != nil || len(a) != chain.AddressLen || !strings.HasPrefix(a, chain.AddressPrefix) {
			t.Fatalf("address of key %x: %q, %v", raw, a, err)
		}
		if pub, err := chain.PublicKeyOf(a); err != nil || !bytes.Equal(pub, raw) {
			t.Fatalf("PublicKeyOf(%s): %x, %v", a, pub, err)
		}
	}
	// Other keys and non-addresses are refused.
	sk, _, _ := crypto.GenerateSecp256k1Key(nil)
	skRaw, _ := crypto.MarshalPrivateKey(sk)
	skPath := filepath.Join(dir, "secp.key")
	_ = os.WriteFile(skPath, skRaw, 0o600)
	if _, err := chain.LoadKey(skPath); err == nil {
		t.Fatal("a secp256k1 key loaded")
	}
	skID, _ := peer.IDFromPrivateKey(sk)
	for _, s := range []string{"", "alice", "0", skID.String(), strings.ToLower(addr), addr + "x"} {
		if _, err := chain.PublicKeyOf(s); !errors.Is(err, chain.ErrNotAddress) {
			t.Errorf("PublicKeyOf(%q): %v", s, err)
		}
	}
}

// TestAddressIndexAcrossFlushes pays from one account to a new address in
// every transaction, in blocks large enough that the index tails become a
// run, and pages the history of the payer, the miners and some payees
// against a scan of the main chain, before and after reopening.
func TestAddressIndexAcrossFlushes(t *testing.T) {
	p := chaintest.SignedParams(t)
	p.Reward = 1 << 40
	cfg := testConfig(t, p)
	c := openChain(t, cfg)
	key, addr := chaintest.Key(t, "payer")
	_, minerA := chaintest.Key(t, "miner a")
	_, minerB := chaintest.Key(t, "miner b")
	parent := chaintest.NextBlock(t, &p, c.Genesis(), addr)
	mustAdd(t, c, parent)
	check := []string{addr, minerA, minerB}
	nonce := uint64(0)
	// Each payment adds two entries (its id, its recipient): 6 blocks of
	// 1400 cross flushEntries.
	for blk := range 6 {
		txs := make([]chain.Transaction, 1400)
		for i := range txs {
			seed := sha256.Sum256(fmt.Append(nil, "payee", nonce))
			to, err := chain.AddressOfPublicKey(seed[:])
			if err != nil {
				t.Fatal(err)
			}
			if i%300 == 0 {
				check = append(check, to)
			}
			txs[i] = signedTx(t, c, key, to, 1, nonce)
			c.sigs.add(txs[i].ID) // as if the pool had admitted it
			nonce++
		}
		parent = chaintest.NextBlock(t, &p, parent, []string{minerA, minerB}[blk%2], txs...)
		mustAdd(t, c, parent)
	}
	var runs int
	_ = c.db.View(func(tx *bolt.Tx) error { runs = tx.Bucket(bucketAddrIx).Stats().BucketN - 1; return nil })
	if runs == 0 {
		t.Fatal("the address index never flushed")
	}
	checkHistory(t, c, check, 700)
	c.Close()
	c = openChain(t, cfg)
	checkHistory(t, c, check, 700)
	if _, err := c.AccountTransactions(addr, "12", 1); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// The signed kill test: like TestKillWriter, on a signed network, with
// payments, mined blocks and winning rival branches; after each SIGKILL
// every account equals a replay of the main chain, the pool continues
// every account, and what the child reported is there.
const killSignedEnv = "GOSSIPCHAIN_KILL_SIGNED_CHILD"

func killSignedParams(t testing.TB) chain.Params {
	p := killParams(t)
	p.Ledger = chain.LedgerSigned
	p.Reward = 1000
	return p
}

func TestKillSignedChildHelper(t *testing.T) {
	path := os.Getenv(killSignedEnv)
	if path == "" {
		t.Skip("only runs as the child of TestKillSigned")
	}
	p := killSignedParams(t)
	c, err := Open(Config{Params: p, Path: path, Logger: quietLogger()})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	key, addr := chaintest.Key(t, "miner")
	m, err := newMiner(c, addr)
	if err != nil {
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	for i := 0; ; i++ {
		a, err := c.Account(addr)
		if err == nil && a.Balance > a.PendingSpend {
			_, to := chaintest.Key(t, fmt.Sprint("user", r.IntN(4)))
			tx, _ := chain.SignTransaction(key, to, 1+r.Uint64N(a.Balance-a.PendingSpend), a.PendingNonce, c.Genesis().Hash)
			if err := c.AddTransaction(tx); err == nil {
				fmt.Fprintf(out, "pending %s\n", tx.ID)
				out.Flush()
			}
		}
		if i%5 == 4 && c.Head().Height > 3 {
			// A rival branch from two blocks down wins: the accounts roll
			// back through the undo data, the payments of the abandoned
			// blocks return to the pool, which is checked again. (It pays
			// the same miner, so that every payment stays covered.)
			base, _ := c.BlockByHeight(c.Head().Height - 2)
			for _, b := range chaintest.Branch(t, &p, base, 3, addr) {
				if _, err := c.AddBlock(b); err == nil {
					fmt.Fprintf(out, "stored %d %s\n", b.Index, b.Hash)
					out.Flush()
				}
			}
			continue
		}
		if i%2 == 0 {
			b, _, err := m.MineBlock(context.Background())
			if err != nil {
				fmt.Fprintf(out, "error %v\n", err)
				out.Flush()
				os.Exit(4)
			}
			fmt.Fprintf(out, "stored %d %s\n", b.Index, b.Hash)
			out.Flush()
		}
	}
}

func TestKillSigned(t *testing.T) {
	if os.Getenv(killSignedEnv) != "" {
		t.Skip("in the child")
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	path := filepath.Join(t.TempDir(), "chain.db")
	p := killSignedParams(t)
	addrs := []string{}
	_, miner := chaintest.Key(t, "miner")
	addrs = append(addrs, miner)
	for i := range 4 {
		_, a := chaintest.Key(t, fmt.Sprint("user", i))
		addrs = append(addrs, a)
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	stored := map[chain.Hash]uint64{}
	pending := map[chain.Hash]bool{}
	for round := range 6 {
		lines := runUntilKilled(t, exe, "TestKillSignedChildHelper", []string{killSignedEnv + "=" + path},
			true, time.Duration(50_000+r.IntN(150_000))*time.Microsecond)
		parseKillReport(t, round, lines, stored, pending)
		c, err := Open(Config{Params: p, Path: path, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		for h := range stored {
			if !c.HasBlock(h) {
				t.Errorf("round %d: block %s reported stored is missing", round, h)
			}
		}
		for id := range pending {
			if _, err := c.FindTransaction(id); err != nil {
				t.Errorf("round %d: transaction %s reported pending is lost: %v", round, id, err)
			}
		}
		checkReplay(t, c, addrs)
		checkPoolLedger(t, c, addrs)
		t.Logf("round %d: head at %d, %d pending", round, c.Head().Height, c.PendingCount())
		c.Close()
		if t.Failed() {
			return
		}
	}
	if len(stored) == 0 || len(pending) == 0 {
		t.Errorf("the child reported %d blocks and %d transactions", len(stored), len(pending))
	}
}

// checkHistory pages the history of every address and compares it with a
// scan of the main chain: the same transactions, newest first.
func checkHistory(t *testing.T, c *Chain, addrs []string, pageSize int) {
	t.Helper()
	for _, a := range addrs {
		var want []chain.Hash
		_ = c.MainChain(2, 0, func(b *chain.Block) error {
			var inBlock []chain.Hash
			for i := len(b.Transactions) - 1; i >= 0; i-- {
				if tx := b.Transactions[i]; tx.Recipient == a || (!tx.IsReward() && tx.Sender == a) {
					inBlock = append(inBlock, tx.ID)
				}
			}
			want = append(inBlock, want...)
			return nil
		})
		var got []chain.Hash
		cursor := ""
		for {
			page, err := c.AccountTransactions(a, cursor, pageSize)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page.Transactions {
				got = append(got, l.Tx.ID)
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		if !equalHashes(got, want) {
			t.Fatalf("%s: history of %d transactions, the main chain has %d (or another order)", a, len(got), len(want))
		}
	}
}
