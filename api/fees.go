package api

import (
	"fmt"
	"net/http"

	"github.com/gossipchain/gossipchain/chain"
)

// handleFees serves GET /fees: on a signed network the fee rate (per
// chain.FeeRateUnit bytes) and the fee of a typical transfer for inclusion
// within 1, 3 and 10 blocks, estimated from the pending pool and recent
// blocks (store.Chain.FeeEstimates says how), never below the node's
// minimum relay fee rate. The open ledger has no fees: 404 saying so.
func (s *Server) handleFees(w http.ResponseWriter, r *http.Request) {
	if s.chain.Ledger() != chain.LedgerSigned {
		writeError(w, http.StatusNotFound, fmt.Sprintf("network %q has an open ledger, which has no fees (they belong to signed networks)", s.chain.Params().Name))
		return
	}
	writeJSON(w, http.StatusOK, s.chain.FeeEstimates())
}

// rewardFees is, for a reward, the fees of its block that it collects: its
// amount less the network's reward (0 for any other transaction).
func (s *Server) rewardFees(tx *chain.Transaction) uint64 {
	if reward := s.chain.Params().Reward; tx.IsReward() && tx.Amount > reward {
		return tx.Amount - reward
	}
	return 0
}
