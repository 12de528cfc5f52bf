package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	bolt "go.etcd.io/bbolt"
)

// The references of a sync, measured in gcbench's own process on the bytes
// of the block file the source chain was made with: what storing and moving
// those bytes costs without a node.

// boltSequential is the storage reference: it writes the first n records of
// the block file at blockFile into a fresh bbolt file at path under
// sequential 8-byte height keys, addBatch per transaction (one fsync each),
// and returns the time the transactions took (reading the file is left
// out).
func boltSequential(path, blockFile string, n int) (time.Duration, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer db.Close()
	bucket := []byte("blocks")
	var took time.Duration
	height := uint64(0)
	err = readBlockFile(blockFile, n, addBatch, func(recs [][]byte) error {
		start := time.Now()
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			b.FillPercent = 1
			for _, rec := range recs {
				height++
				if err := b.Put(binary.BigEndian.AppendUint64(nil, height), rec); err != nil {
					return err
				}
			}
			return nil
		})
		took += time.Since(start)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bare bbolt: %w", err)
	}
	return took, nil
}

// streamProtocol is the protocol of the transport reference's one stream.
const streamProtocol = protocol.ID("/gcbench/blocks/1")

// libp2pStream is the transport reference: two bare libp2p hosts in this
// process, on loopback TCP with go-libp2p's default security and muxer (a
// node's), connected beforehand; one sends the first n records of the block
// file, each after its length, on one stream, and the other reads them
// record by record. It returns the time from opening the stream to the last
// record read.
func libp2pStream(ctx context.Context, blockFile string, n int) (time.Duration, error) {
	opts := []libp2p.Option{
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
	}
	recv, err := libp2p.New(opts...)
	if err != nil {
		return 0, err
	}
	defer recv.Close()
	send, err := libp2p.New(opts...)
	if err != nil {
		return 0, err
	}
	defer send.Close()

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	recv.SetStreamHandler(streamProtocol, func(s network.Stream) {
		defer s.Close()
		r := bufio.NewReaderSize(s, 256<<10)
		var buf []byte
		got := 0
		var err error
		for ; got < n; got++ {
			if buf, err = readRecord(r, buf[:0]); err != nil {
				break
			}
		}
		done <- result{got, err}
	})
	if err := send.Connect(ctx, peer.AddrInfo{ID: recv.ID(), Addrs: recv.Addrs()}); err != nil {
		return 0, err
	}

	start := time.Now()
	s, err := send.NewStream(ctx, recv.ID(), streamProtocol)
	if err != nil {
		return 0, err
	}
	defer s.Reset()
	w := bufio.NewWriterSize(s, 256<<10)
	var hdr [4]byte
	err = readBlockFile(blockFile, n, addBatch, func(recs [][]byte) error {
		for _, rec := range recs {
			binary.BigEndian.PutUint32(hdr[:], uint32(len(rec)))
			if _, err := w.Write(hdr[:]); err != nil {
				return err
			}
			if _, err := w.Write(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("libp2p stream: send: %w", err)
	}
	select {
	case res := <-done:
		took := time.Since(start)
		if res.err != nil || res.n != n {
			return 0, fmt.Errorf("libp2p stream: received %d of %d records: %v", res.n, n, res.err)
		}
		s.Close()
		return took, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
