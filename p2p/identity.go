package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// IdentityFile is the name of the identity key file inside Config.DataDir.
const IdentityFile = "identity.key"

// loadOrCreateIdentity returns the private key kept in dataDir/identity.key. On first use
// it creates dataDir (0700) and a new Ed25519 key (0600). An unreadable or corrupt key
// file is an error: it is never silently replaced, since that would change the node's
// peer ID.
func loadOrCreateIdentity(dataDir string, log *slog.Logger) (crypto.PrivKey, error) {
	path := filepath.Join(dataDir, IdentityFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := crypto.UnmarshalPrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("corrupt identity key file %s (move it away to create a new identity): %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("identity key file is readable by others", "path", path, "mode", fi.Mode().Perm())
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read identity key file: %w", err)
	}

	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	data, err = crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal identity key: %w", err)
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write identity key file: %w", err)
	}
	log.Info("created new node identity", "path", path)
	return key, nil
}

// writeFileAtomic writes data to a temporary file in the same directory, syncs it and
// renames it to path, so that a crash never leaves a truncated file behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
