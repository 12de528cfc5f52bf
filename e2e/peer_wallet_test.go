package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	binenc "encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipchain/gossipchain/chain"
	gsync "github.com/gossipchain/gossipchain/sync"
)

// The peer page's wallet: a key made in the tab or imported from a
// `gossipchain key` file, balances proven in the tab, and a payment signed
// in the tab and published by gossip, on a signed network of real node
// processes with a real headless chromium.

// startWalletNode starts a node of a signed network that mines to miner
// and listens on QUIC (and so on WebTransport) at 127.0.0.1.
func startWalletNode(t *testing.T, miner string) *node {
	t.Helper()
	quic := fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", freePort(t))
	return startNode(t, signedOpts("tabwallet", "--miner-address", miner, "--listen", quic))
}

// importKey imports the key file at path in the tab and waits until the
// wallet shows address.
func (b *browser) importKey(path, address string) {
	b.t.Helper()
	b.run("import "+path,
		chromedp.WaitVisible(chromedp.CSS(`#wallet-keys`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#wallet-import`), []string{path}),
	)
	waitFor(b.t, "the imported key's address in the wallet", browserTimeout, func() error {
		if got := b.text("#wallet-address"); got != address {
			return fmt.Errorf("the wallet shows %q (%s)", got, b.text("#wallet-state"))
		}
		return nil
	})
}

// tabAccount returns what the tab shows of address: its verdict
// ("proven", "waiting", "unproven"), balance and block, as "proven 5 7".
func (b *browser) tabAccount(address string) string {
	b.t.Helper()
	return value(b, "account "+address, chromedp.Evaluate[string](fmt.Sprintf(
		`(() => { const a = window.gossipchainPeer.wallet.accounts.get(%q); return a === undefined ? 'absent' : a.verdict + ' ' + a.balance + ' ' + a.block + ' ' + a.reason })()`, address)))
}

// waitProven waits until the tab shows address's balance as want, proven
// at a block of height at least minBlock.
func (b *browser) waitProven(address string, want, minBlock uint64) {
	b.t.Helper()
	waitFor(b.t, fmt.Sprintf("balance %d of %s proven in the tab at block %d or later", want, address, minBlock), waitTimeout, func() error {
		got := b.tabAccount(address)
		var verdict string
		var balance, block uint64
		if _, err := fmt.Sscanf(got, "%s %d %d", &verdict, &balance, &block); err != nil || verdict != "proven" || balance != want || block < minBlock {
			return fmt.Errorf("the tab shows %q", got)
		}
		return nil
	})
	sel := fmt.Sprintf(`#wallet-accounts-body tr[data-address=%q][data-verdict="proven"]`, address)
	if got := b.text(sel + ` td.balance`); got != fmt.Sprint(want) {
		b.t.Errorf("the page shows the balance of %s as %q, want %d", address, got, want)
	}
}

// tabKeyFile returns the bytes of the key file the wallet exports.
func (b *browser) tabKeyFile() []byte {
	b.t.Helper()
	href := value(b, "the exported key file", chromedp.Evaluate[string](`document.getElementById('wallet-export').href`))
	b64, ok := strings.CutPrefix(href, "data:application/octet-stream;base64,")
	data, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil {
		b.t.Fatalf("the key file's link is %q: %v", href, err)
	}
	return data
}

// TestPeerWalletOpenNetwork: on an open network the wallet section says
// there is no wallet, and offers no key.
func TestPeerWalletOpenNetwork(t *testing.T) {
	n := startBrowserNode(t, nodeOptions{})
	needPeerPage(t, n)
	b := newQUICBrowser(t)
	b.openPeerPage(n, "")
	b.waitFor("the wallet's verdict on an open network", `#wallet-state[data-state="open"]`)
	if got := b.text("#wallet-state"); !strings.Contains(got, "no wallet") {
		t.Errorf("the wallet section of an open network says %q", got)
	}
	if visible := value(b, "key controls", chromedp.Evaluate[bool](`!document.getElementById('wallet-keys').hidden`)); visible {
		t.Error("an open network's page offers wallet keys")
	}
	b.noConsoleErrors()
}

// TestPeerWalletKeyFile: a key made in the tab is kept in its storage
// across a reload, and exports a key file that `gossipchain key show`
// reads as the same address, byte for byte the libp2p form of that key.
func TestPeerWalletKeyFile(t *testing.T) {
	dir := t.TempDir()
	n := startWalletNode(t, newWalletKey(t, filepath.Join(dir, "miner.key")))
	needPeerPage(t, n)
	b := newQUICBrowser(t)
	b.openPeerPage(n, "")
	b.run("make a key in the tab", chromedp.WaitVisible(chromedp.CSS(`#wallet-keys`)), chromedp.Click(chromedp.CSS(`#wallet-new`)))
	waitFor(t, "the tab's new address", browserTimeout, func() error {
		if a := b.text("#wallet-address"); !strings.HasPrefix(a, "12D3KooW") || len(a) != 52 {
			return fmt.Errorf("the wallet shows address %q", a)
		}
		return nil
	})
	addr := b.text("#wallet-address")
	file := b.tabKeyFile()
	path := filepath.Join(dir, "tab.key")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := gossipchain(t, "key", "show", "--key", path); code != 0 || strings.TrimSpace(out) != addr {
		t.Fatalf("gossipchain key show of the tab's key file: exit %d: %q %s, want %s", code, out, errOut, addr)
	}
	key, err := crypto.UnmarshalPrivateKey(file)
	if err != nil {
		t.Fatal(err)
	}
	again, err := crypto.MarshalPrivateKey(key)
	if err != nil || !bytes.Equal(again, file) {
		t.Errorf("the tab's key file is not libp2p's form of its key:\n tab  %x\n Go   %x (%v)", file, again, err)
	}

	b.openPeerPage(n, "")
	waitFor(t, "the same key after a reload", browserTimeout, func() error {
		if got := b.text("#wallet-address"); got != addr {
			return fmt.Errorf("the wallet shows %q after a reload, want %s", got, addr)
		}
		return nil
	})
	b.noConsoleErrors()
}

// TestPeerWalletPays: the tab imports a funded key file made by
// `gossipchain key new`, shows its balance proven at a block it verified,
// signs a payment that it publishes by gossip (never over HTTP), the node
// mines it, and the recipient's balance appears in the tab, proven.
func TestPeerWalletPays(t *testing.T) {
	dir := t.TempDir()
	aliceKey := filepath.Join(dir, "alice.key")
	alice := newWalletKey(t, aliceKey)
	bob := newWalletKey(t, filepath.Join(dir, "bob.key"))
	n := startWalletNode(t, alice)
	needPeerPage(t, n)
	for range 3 {
		n.mine()
	}
	b := newQUICBrowser(t)
	b.openPeerPage(n, "")
	b.importKey(aliceKey, alice)
	b.mineUntilVerified(n)
	before, err := n.ledgerAccount(alice)
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.status()
	if err != nil {
		t.Fatal(err)
	}
	b.waitProven(alice, before.Balance, st.Height)

	const amount, fee = 2, 1
	b.run("sign and publish a payment",
		chromedp.SetValue(chromedp.CSS(`#pay-to`), bob),
		chromedp.SetValue(chromedp.CSS(`#pay-amount`), fmt.Sprint(amount)),
		chromedp.SetValue(chromedp.CSS(`#pay-fee`), fmt.Sprint(fee)),
		chromedp.Click(chromedp.CSS(`#pay-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#pay-result[data-state]`)),
	)
	if state := value(b, "payment state", chromedp.Evaluate[string](`document.getElementById('pay-result').dataset.state`)); state != "sent" {
		t.Fatalf("the payment was not sent: %s", b.text("#pay-result"))
	}
	id, err := chain.ParseHash(value(b, "payment id", chromedp.Evaluate[string](`document.getElementById('pay-result').dataset.id`)))
	if err != nil {
		t.Fatal(err)
	}
	waitPending(t, []chain.Hash{id}, n)
	mined := n.mine()
	if st, err := n.txStatus(id); err != nil || st != "confirmed" {
		t.Fatalf("the tab's payment %s after block %d: %q %v, want confirmed", id, mined.Index, st, err)
	}
	b.waitProven(bob, amount, mined.Index)
	after, err := n.ledgerAccount(alice)
	if err != nil || after.NextNonce != before.NextNonce+1 {
		t.Fatalf("alice after the payment: %+v %v, want next nonce %d", after, err, before.NextNonce+1)
	}
	b.waitProven(alice, after.Balance, mined.Index)
	b.shot("paid")
	b.noConsoleErrors()
}

// TestPeerWalletRefusesForgedProof: a hostile Go peer, which the tab dials
// by its WebTransport address, serves account proofs whose balance it
// changed (it asks the node for the real proof and adds to the balance);
// the tab refuses them and says so, and shows the node's proof.
func TestPeerWalletRefusesForgedProof(t *testing.T) {
	dir := t.TempDir()
	alice := newWalletKey(t, filepath.Join(dir, "alice.key"))
	n := startWalletNode(t, alice)
	needPeerPage(t, n)
	st, err := n.status()
	if err != nil {
		t.Fatal(err)
	}
	hostile, _ := startGoPeer(t, n.opts.network, nil)
	ai, err := peer.AddrInfoFromString(n.multiaddr())
	if err != nil {
		t.Fatal(err)
	}
	if err := hostile.Host().Connect(t.Context(), *ai); err != nil {
		t.Fatalf("the hostile peer dials the node: %v", err)
	}
	var forged atomic.Int32
	hostile.Host().SetStreamHandler(gsync.ProofsProtocol, func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReader(s)
		size, err := binenc.ReadUvarint(r)
		if err != nil || size != 85 {
			s.Reset()
			return
		}
		req := make([]byte, size)
		if _, err := io.ReadFull(r, req); err != nil {
			s.Reset()
			return
		}
		var at chain.Hash
		copy(at[:], req[53:])
		p, err := gsync.FetchAccountProof(t.Context(), hostile.Host(), ai.ID, string(req[1:53]), at)
		if err != nil {
			t.Logf("the hostile peer's fetch: %v", err)
			s.Reset()
			return
		}
		p.Balance += 1000
		body, err := p.MarshalBinary()
		if err != nil {
			s.Reset()
			return
		}
		body = append([]byte{0}, body...)
		forged.Add(1)
		s.Write(append(binenc.AppendUvarint(nil, uint64(len(body))), body...))
	})
	var wt string
	for _, a := range hostile.BrowserAddrs() {
		if strings.Contains(a.String(), "/webtransport/") {
			wt = a.String()
		}
	}
	if wt == "" {
		t.Fatalf("the hostile peer has no WebTransport address among %v", hostile.BrowserAddrs())
	}
	b := newQUICBrowser(t)
	b.openPeerPage(n, "?peer="+wt)
	b.waitFor("the hostile peer among the tab's peers", fmt.Sprintf(`#peers-body tr[data-peer=%q]`, hostile.Host().ID()))
	b.run("prove alice's account", chromedp.SetValue(chromedp.CSS(`#watch-address`), alice), chromedp.Click(chromedp.CSS(`#wallet-watch button`)))
	b.mineUntilVerified(n)
	acct, err := n.ledgerAccount(alice)
	if err != nil {
		t.Fatal(err)
	}
	b.waitProven(alice, acct.Balance, st.Height+1)
	sel := fmt.Sprintf(`#wallet-refusals li[data-peer=%q]`, hostile.Host().ID())
	b.waitFor("the forged proof refused on the page", sel)
	if got := b.text(sel); !strings.Contains(got, "state_root") {
		t.Errorf("the refusal reads %q, want it to say the proof misses the header's state_root", got)
	}
	t.Logf("the hostile peer served %d forged proofs; the tab says: %s", forged.Load(), b.text(sel))
	b.shot("forged")
}
