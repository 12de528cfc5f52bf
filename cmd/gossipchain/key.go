package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// This file holds the wallet's key subcommands: gossipchain key new and
// gossipchain key show. A key file holds an Ed25519 private key in the
// format of the node's identity key (datadir/identity.key), so the
// identity key of a node spends that node's mining rewards.

// defaultKeyFile is where gossipchain key new writes without --out.
const defaultKeyFile = "wallet.key"

// runKey runs gossipchain key new|show.
func runKey(cfg clientConfig, out io.Writer) error {
	switch cfg.args[0] {
	case "new":
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
	case "show":
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
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("check %s: %w", path, err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("directory of %s does not exist", path)
		}
	}
	addr, err := writeNewKey(path)
	if err != nil {
		return "", fmt.Errorf("write key file %s: %w", path, err)
	}
	return addr, nil
}

// keyFileAddress reads the key file at path and returns its address.
func keyFileAddress(path string) (string, error) {
	k, err := readKey(path)
	if err != nil {
		return "", err
	}
	return k.address, nil
}
