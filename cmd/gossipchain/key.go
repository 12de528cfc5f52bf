package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/gossipchain/gossipchain/chain"
)

// This file holds the wallet's key subcommands: gossipchain key new and
// gossipchain key show. A key file holds an Ed25519 private key in the
// format of the node's identity key (datadir/identity.key), so the
// identity key of a node spends that node's mining rewards.

// defaultKeyFile is where gossipchain key new writes without --out.
const defaultKeyFile = "wallet.key"

// runKey runs gossipchain key new|show: name is "key new" or "key show".
func runKey(name string, cfg clientConfig, out io.Writer) error {
	switch name {
	case "key new":
		path := cfg.out
		if path == "" {
			path = defaultKeyFile
		}
		addr, err := newKeyFile(path)
		if err != nil {
			return err
		}
		if cfg.json {
			return printJSONValue(out, map[string]string{"address": addr, "key": path})
		}
		fmt.Fprintf(out, "address  %s\nkey      %s\n", addr, path)
	case "key show":
		addr, err := keyFileAddress(cfg.key)
		if err != nil {
			return err
		}
		if cfg.json {
			return printJSONValue(out, map[string]string{"address": addr, "key": cfg.key})
		}
		fmt.Fprintln(out, addr)
	}
	return nil
}

// newKeyFile creates a new key at path (mode 0600), refusing to replace an
// existing file, and returns its address.
func newKeyFile(path string) (string, error) {
	if _, err := os.Lstat(path); err == nil {
		return "", fmt.Errorf("%s already exists: not replacing a key (give another --out)", path)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("directory of %s does not exist", path)
	}
	key, err := chain.GenerateKey()
	if err != nil {
		return "", err
	}
	addr, err := chain.AddressOf(key)
	if err != nil {
		return "", err
	}
	if err := chain.SaveKey(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%s already exists: not replacing a key (give another --out)", path)
		}
		return "", err
	}
	return addr, nil
}

// loadKey reads the key file at path and returns the key and its address.
func loadKey(path string) (crypto.PrivKey, string, error) {
	key, err := chain.LoadKey(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("key file %s does not exist (create one with gossipchain key new --out %s)", path, path)
		}
		return nil, "", fmt.Errorf("%w (not a gossipchain key file)", err)
	}
	addr, err := chain.AddressOf(key)
	if err != nil {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	return key, addr, nil
}

// keyFileAddress reads the key file at path and returns its address.
func keyFileAddress(path string) (string, error) {
	_, addr, err := loadKey(path)
	return addr, err
}
