package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gossipchain/gossipchain/chain/headerchain"
)

// TestLightFlags: --light refuses the miner's and the pool's flags,
// --checkpoint needs --light and a HEIGHT:HASH.
func TestLightFlags(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"--light", "--mine"}, "--mine makes no sense with --light"},
		{[]string{"--light", "--miner-threads", "2"}, "--miner-threads makes no sense with --light"},
		{[]string{"--light", "--min-relay-fee", "5"}, "--min-relay-fee makes no sense with --light"},
		{[]string{"--checkpoint", "5:" + hash}, "give --light too"},
		{[]string{"--light", "--checkpoint", "5"}, "want HEIGHT:HASH"},
		{[]string{"--light", "--checkpoint", "1:" + hash}, "2 or more"},
		{[]string{"--light", "--checkpoint", "5:" + hash}, ""},
	} {
		cfg, err := parseFlags(tc.args, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want == "" && (!cfg.light || cfg.checkpoint == nil || cfg.checkpoint.Height != 5 || cfg.checkpoint.Hash.String() != hash):
			t.Errorf("%v: light %v, checkpoint %v", tc.args, cfg.light, cfg.checkpoint)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}

// TestRunLightCheckpointConflict: a light node whose checkpoint is not on
// the heaviest chain of the full node it bootstraps from stops with an
// error saying so.
func TestRunLightCheckpointConflict(t *testing.T) {
	full := startNode(t)
	if _, err := full.api.MineBlocks(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	st, err := full.api.Status(t.Context())
	if err != nil || len(st.Addrs) == 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	cfg, err := parseFlags([]string{"--datadir", t.TempDir(), "--http", freeAddr(t), "--listen", "/ip4/127.0.0.1/tcp/0",
		"--mdns=false", "--log-level", "error", "--light", "--checkpoint", "3:" + strings.Repeat("ab", 32),
		"--bootstrap", st.Addrs[0]}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, headerchain.ErrCheckpointConflict) {
		t.Fatalf("run: %v, want the checkpoint conflict", err)
	}
	t.Log(err)
}
