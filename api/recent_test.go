package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gossipchain/gossipchain/api/client"
)

func TestRecentBlocks(t *testing.T) {
	n := newTestNode(t)
	var mined client.MinedBlocks
	n.do(http.MethodGet, "/mine?blocks=5", "").wantCode(t, http.StatusOK).json(t, &mined)
	params := n.chain.Params()

	tests := []struct {
		query string
		want  []uint64 // the heights answered, in order
	}{
		{"", []uint64{6, 5, 4, 3, 2, 1}},    // default limit 20: the whole chain, newest first
		{"?limit=3", []uint64{6, 5, 4}},     // the latest 3
		{"?to=2&limit=5", []uint64{2, 1}},   // ending at height 2
		{"?to=4&limit=2", []uint64{4, 3}},   // a page further back
		{"?to=100&limit=2", []uint64{6, 5}}, // beyond the head: up to the head
		{"?limit=1000", []uint64{6, 5, 4, 3, 2, 1}},
	}
	for _, tt := range tests {
		var r recentResponse
		n.do(http.MethodGet, "/blocks/recent"+tt.query, "").wantCode(t, http.StatusOK).json(t, &r)
		if r.Height != 6 || r.Head != mined.Head || len(r.Blocks) != len(tt.want) {
			t.Fatalf("%s: height %d head %s, %d blocks, want 6 %s %d", tt.query, r.Height, r.Head, len(r.Blocks), mined.Head, len(tt.want))
		}
		for i, got := range r.Blocks {
			b, err := n.chain.BlockByHeight(tt.want[i])
			if err != nil {
				t.Fatal(err)
			}
			raw, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			miner := "test-miner"
			if b.Index == 1 {
				miner = params.GenesisRecipient()
			}
			if got.Index != b.Index || got.Hash != b.Hash || got.PreviousHash != b.PreviousHash || got.Timestamp != b.Timestamp ||
				got.Bits != b.Bits || got.Size != len(raw) || got.Transactions != len(b.Transactions) || got.Miner != miner {
				t.Errorf("%s: block %d is %+v, want the block at height %d (%d bytes)", tt.query, i, got, b.Index, len(raw))
			}
		}
	}

	// The field names the explorer reads.
	var raw struct {
		Blocks []map[string]any `json:"blocks"`
	}
	n.do(http.MethodGet, "/blocks/recent?limit=1", "").wantCode(t, http.StatusOK).json(t, &raw)
	for _, k := range []string{"index", "hash", "previous_hash", "timestamp", "bits", "size", "miner", "transactions"} {
		if _, ok := raw.Blocks[0][k]; !ok {
			t.Errorf("a block of /blocks/recent lacks %q: %v", k, raw.Blocks[0])
		}
	}

	for _, bad := range []string{"limit=0", fmt.Sprintf("limit=%d", MaxRecentBlocks+1), "limit=x", "to=0", "to=-1", "to=x"} {
		n.do(http.MethodGet, "/blocks/recent?"+bad, "").wantCode(t, http.StatusBadRequest).errorMessage(t)
	}
	n.do(http.MethodPost, "/blocks/recent", "{}").wantCode(t, http.StatusMethodNotAllowed)
	// A block by index or hash is still GET /blocks/{id}.
	n.do(http.MethodGet, "/blocks/6", "").wantCode(t, http.StatusOK)
}
