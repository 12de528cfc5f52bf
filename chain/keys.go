package chain

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Keys and addresses of a signed network. A key is an Ed25519 key in
// libp2p's form (crypto.PrivKey); an address is the text of the libp2p
// peer ID of its public key ("12D3KooW…", 52 characters): the identity
// multihash of the protobuf-encoded public key, in base58btc. So the public
// key is recovered from the address, and a node's identity key
// (<datadir>/identity.key), whose peer ID is its default reward address, is
// a spendable wallet key. A key file holds the bytes of
// crypto.MarshalPrivateKey, exactly as the node's identity file does.

// GenerateKey returns a new Ed25519 key.
func GenerateKey() (crypto.PrivKey, error) {
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// AddressOf returns the address of key (a private or public Ed25519 key).
func AddressOf(key crypto.Key) (string, error) {
	var pub crypto.PubKey
	switch k := key.(type) {
	case crypto.PrivKey:
		pub = k.GetPublic()
	case crypto.PubKey:
		pub = k
	default:
		return "", fmt.Errorf("address of a %T", key)
	}
	if pub.Type() != crypto.Ed25519 {
		return "", fmt.Errorf("address of a %s key: %w", pub.Type(), ErrNotAddress)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("address: %w", err)
	}
	return id.String(), nil
}

// AddressOfPublicKey returns the address of a raw Ed25519 public key.
func AddressOfPublicKey(pub ed25519.PublicKey) (string, error) {
	k, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("address: %w", err)
	}
	return AddressOf(k)
}

// LoadKey reads a key file (crypto.MarshalPrivateKey bytes, the format of
// a node's identity.key). It must hold an Ed25519 key.
func LoadKey(path string) (crypto.PrivKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(data) > 4096 {
		return nil, fmt.Errorf("key file %s: %d bytes, not a key", path, len(data))
	}
	k, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if k.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("key file %s holds a %s key, want Ed25519", path, k.Type())
	}
	return k, nil
}

// SaveKey writes key to a new file at path, mode 0600, in the format of
// LoadKey. It never overwrites: an existing file is an error (fs.ErrExist).
// The file is written to a temporary name, synced and linked into place,
// so that a crash leaves either no file or the whole key.
func SaveKey(path string, key crypto.PrivKey) error {
	data, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("key file %s: %w", path, fs.ErrExist)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	// A hard link fails if path appeared meanwhile: never overwrite a key.
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
