package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxKeyFileBytes bounds a key file read from disk.
const maxKeyFileBytes = 4 << 10

// walletKey is a key read from a key file.
type walletKey struct {
	priv    crypto.PrivKey
	address string // the peer ID text of its public key
}

// readKey reads an Ed25519 key file (crypto.MarshalPrivateKey, as
// datadir/identity.key).
func readKey(path string) (walletKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return walletKey{}, fmt.Errorf("key file %s does not exist (create one with gossipchain key new --out %s)", path, path)
		}
		return walletKey{}, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	data := make([]byte, maxKeyFileBytes+1)
	n, err := f.Read(data)
	if err != nil && n == 0 {
		return walletKey{}, fmt.Errorf("read key file %s: %w", path, err)
	}
	if n > maxKeyFileBytes {
		return walletKey{}, fmt.Errorf("key file %s: larger than %d bytes, not a key file", path, maxKeyFileBytes)
	}
	priv, err := crypto.UnmarshalPrivateKey(data[:n])
	if err != nil {
		return walletKey{}, fmt.Errorf("key file %s is not a gossipchain key: %w", path, err)
	}
	if priv.Type() != crypto.Ed25519 {
		return walletKey{}, fmt.Errorf("key file %s holds a %s key, want Ed25519", path, priv.Type())
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return walletKey{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return walletKey{priv: priv, address: id.String()}, nil
}

// writeNewKey creates path (mode 0600, never replacing a file) holding a
// new Ed25519 key, and returns its address.
func writeNewKey(path string) (string, error) {
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return "", err
	}
	data, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", err
	}
	return id.String(), nil
}
