package chain

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the store. Keys of heights and pool sequence numbers are
// big-endian uint64, so cursors visit them in order.
var (
	bucketMeta    = []byte("meta")    // metaNetwork, metaGenesis, metaHead, metaVersion
	bucketBlocks  = []byte("blocks")  // block hash → binary block
	bucketMain    = []byte("main")    // height → block hash of the main chain
	bucketTxIndex = []byte("txindex") // transaction id → height of the main-chain block holding it
	bucketPool    = []byte("pool")    // sequence → binary transaction (pending pool)

	metaNetwork = []byte("network")
	metaGenesis = []byte("genesis")
	metaHead    = []byte("head")
	metaVersion = []byte("version")
)

// storeVersion is the layout version written in the meta bucket.
const storeVersion = 1

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

// dbFetchBlock reads and decodes a stored block. The hash is the key, so
// DecodeBlock's computed hash must equal it.
func dbFetchBlock(tx *bolt.Tx, hash Hash) (*Block, error) {
	raw := tx.Bucket(bucketBlocks).Get(hash[:])
	if raw == nil {
		return nil, ErrNotFound
	}
	b, err := DecodeBlock(raw, MaxTxsLimit)
	if err != nil {
		return nil, fmt.Errorf("stored block %s is corrupt: %w", hash, err)
	}
	if b.Hash != hash {
		return nil, fmt.Errorf("stored block %s is corrupt: it hashes to %s", hash, b.Hash)
	}
	return b, nil
}

// dbFetchHeader decodes only the index, timestamp and previous hash of a
// stored block.
func dbFetchHeader(tx *bolt.Tx, hash Hash) (index uint64, ts Timestamp, prev Hash, err error) {
	raw := tx.Bucket(bucketBlocks).Get(hash[:])
	if raw == nil {
		return 0, 0, prev, ErrNotFound
	}
	if len(raw) < HeaderSize {
		return 0, 0, prev, fmt.Errorf("stored block %s is corrupt: %d bytes", hash, len(raw))
	}
	copy(prev[:], raw[0:32])
	index = binary.BigEndian.Uint64(raw[68:76])
	ts = Timestamp(binary.BigEndian.Uint64(raw[76:84]))
	return index, ts, prev, nil
}

func dbHasBlock(tx *bolt.Tx, hash Hash) bool { return tx.Bucket(bucketBlocks).Get(hash[:]) != nil }

func dbPutBlock(tx *bolt.Tx, b *Block) error {
	return tx.Bucket(bucketBlocks).Put(b.Hash[:], b.AppendBinary(make([]byte, 0, b.BinarySize())))
}

// dbMainHash returns the main-chain hash at height.
func dbMainHash(tx *bolt.Tx, height uint64) (Hash, bool) {
	var h Hash
	v := tx.Bucket(bucketMain).Get(heightKey(height))
	if len(v) != HashSize {
		return h, false
	}
	copy(h[:], v)
	return h, true
}

// dbIsMain reports whether hash is the main-chain block at height.
func dbIsMain(tx *bolt.Tx, hash Hash, height uint64) bool {
	h, ok := dbMainHash(tx, height)
	return ok && h == hash
}

// dbTxHeight returns the main-chain height holding the transaction id.
func dbTxHeight(tx *bolt.Tx, id Hash) (uint64, bool) {
	v := tx.Bucket(bucketTxIndex).Get(id[:])
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// dbConnectMain puts b on the main chain at its index and indexes its
// transactions.
func dbConnectMain(tx *bolt.Tx, b *Block) error {
	key := heightKey(b.Index)
	if err := tx.Bucket(bucketMain).Put(key, b.Hash[:]); err != nil {
		return err
	}
	idx := tx.Bucket(bucketTxIndex)
	for i := range b.Transactions {
		if err := idx.Put(b.Transactions[i].ID[:], key); err != nil {
			return err
		}
	}
	return nil
}

// dbDisconnectMain removes b from the main chain and its transactions from
// the index.
func dbDisconnectMain(tx *bolt.Tx, b *Block) error {
	if err := tx.Bucket(bucketMain).Delete(heightKey(b.Index)); err != nil {
		return err
	}
	idx := tx.Bucket(bucketTxIndex)
	for i := range b.Transactions {
		if err := idx.Delete(b.Transactions[i].ID[:]); err != nil {
			return err
		}
	}
	return nil
}

func dbPutHead(tx *bolt.Tx, hash Hash) error { return tx.Bucket(bucketMeta).Put(metaHead, hash[:]) }

// dbInit creates the buckets and, in an empty store, writes the genesis. In
// a store that exists it checks that it belongs to the network of p.
func dbInit(tx *bolt.Tx, p *Params, genesis *Block) error {
	for _, name := range [][]byte{bucketMeta, bucketBlocks, bucketMain, bucketTxIndex, bucketPool} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	stored := meta.Get(metaGenesis)
	if stored == nil {
		if err := meta.Put(metaVersion, heightKey(storeVersion)); err != nil {
			return err
		}
		if err := meta.Put(metaNetwork, []byte(p.Name)); err != nil {
			return err
		}
		if err := meta.Put(metaGenesis, genesis.Hash[:]); err != nil {
			return err
		}
		if err := dbPutBlock(tx, genesis); err != nil {
			return err
		}
		if err := dbConnectMain(tx, genesis); err != nil {
			return err
		}
		return dbPutHead(tx, genesis.Hash)
	}
	if v := meta.Get(metaVersion); len(v) != 8 || binary.BigEndian.Uint64(v) != storeVersion {
		return fmt.Errorf("store layout version %x is not %d", v, storeVersion)
	}
	if string(stored) != string(genesis.Hash[:]) {
		return fmt.Errorf("%w: the store holds network %q with genesis %x, this node runs %q with genesis %s (difficulty %d); use another data directory",
			ErrWrongNetwork, meta.Get(metaNetwork), stored, p.Name, genesis.Hash, p.Difficulty)
	}
	return nil
}

// dbHead returns the stored head hash.
func dbHead(tx *bolt.Tx) (Hash, error) {
	var h Hash
	v := tx.Bucket(bucketMeta).Get(metaHead)
	if len(v) != HashSize {
		return h, errors.New("store has no head")
	}
	copy(h[:], v)
	return h, nil
}
