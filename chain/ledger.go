package chain

import (
	"errors"
	"math"
)

// The signed ledger's rules. On a network whose ledger mode is LedgerSigned
// every address (the peer ID text of an Ed25519 key, see keys.go) has an
// account: a balance and the nonce its next transaction must carry.
// Accounts change with every block that joins the main chain, in block
// order:
//
//   - a transaction (not the reward) is valid when its signature verifies
//     (Transaction.Verify), its nonce is the sender's next nonce and the
//     sender's balance covers its amount and its fee (CheckSpend); it takes
//     amount + fee from the sender, moves the amount to the recipient
//     (Credit) and advances the sender's nonce by one;
//   - the reward credits the miner (its recipient, an address) with the
//     network's reward plus the fees of the block's transactions, which is
//     the reward's amount exactly (CheckBlockSanity, BlockFees);
//   - the genesis changes no account (its reward goes to
//     "gossipchain:<network>", which is no address).
//
// A balance is a uint64; a block that would make one overflow is invalid.
// A fee of 0 is valid; the minimum a node relays is its own policy
// (chain/store's pool). PROTOCOL.md section 10.7 is the specification; the
// accounts themselves are kept by chain/store.

// ErrFeeTooLow is the refusal of a transaction whose fee rate is below the
// node's minimum relay fee rate: policy of the pending pool, no broken rule.
var ErrFeeTooLow = errors.New("fee below the node's minimum relay fee")

// FeeRateUnit is the size to which a fee rate refers: a rate is a fee per
// FeeRateUnit bytes of a transaction's canonical encoding, so that rates
// below one unit per byte are integers.
const FeeRateUnit = 1000

// FeeRate is the fee rate of tx, rounded down: its fee per FeeRateUnit
// bytes of its encoding.
func (tx *Transaction) FeeRate() uint64 {
	return tx.Fee * FeeRateUnit / uint64(tx.EncodedSize())
}

// FeeForRate is the smallest fee whose rate, for a transaction of size
// bytes, is at least rate.
func FeeForRate(rate uint64, size int) uint64 {
	return (rate*uint64(size) + FeeRateUnit - 1) / FeeRateUnit
}

// FeeEstimate is the fee rate (per FeeRateUnit bytes) with which a
// transaction should be included within Blocks blocks, and the fee of a
// typical transfer at that rate.
type FeeEstimate struct {
	Blocks  int    `json:"blocks"`
	FeeRate uint64 `json:"fee_rate"`
	Fee     uint64 `json:"fee"`
}

// FeeEstimates are the fee estimates of a node of a signed network, the
// answer of GET /fees (chain/store computes them).
type FeeEstimates struct {
	// Unit is FeeRateUnit: rates are fees per Unit bytes.
	Unit            int    `json:"unit"`
	MinRelayFeeRate uint64 `json:"min_relay_fee_rate"`
	// TypicalSize is the encoded size of a transfer between two addresses
	// of Ed25519 keys, to which each estimate's fee refers.
	TypicalSize  int           `json:"typical_size"`
	Pending      int           `json:"pending"`
	RecentBlocks int           `json:"recent_blocks"` // blocks whose clearing rates were read
	Estimates    []FeeEstimate `json:"estimates"`
}

// ReplacementFee is the smallest fee with which a transaction of size bytes
// replaces a pending one of the same sender and nonce that pays oldFee, on
// a node whose minimum relay fee rate is minRate: 10% more than oldFee
// (rounded up), at least the minimum relay fee of its size more, and more
// in any case. Policy of the pending pool, as PROTOCOL.md 10.7 states it.
func ReplacementFee(oldFee, minRate uint64, size int) uint64 {
	return oldFee + max((oldFee+9)/10, FeeForRate(minRate, size), 1)
}

// BlockFees is the sum of the fees of txs, which the reward of their block
// adds to the network's reward. Each fee is at most MaxAmount and a block
// holds far fewer than 2^11 transactions, so the sum cannot overflow.
func BlockFees(txs []Transaction) uint64 {
	var sum uint64
	for i := range txs {
		sum += txs[i].Fee
	}
	return sum
}

// CheckSpend is the rule of a signed ledger for one transaction (not a
// reward) against the sender's balance and next nonce: the nonce is the
// next and the balance covers amount + fee (Transaction.Cost). One function
// applies it at pool admission (against the account advanced by the
// sender's pending transactions), at block assembly and at block
// validation (against the account advanced by the block's earlier
// transactions).
func CheckSpend(tx *Transaction, balance, nonce uint64) error {
	if tx.Nonce != nonce {
		if tx.Nonce < nonce {
			return RuleErrorf(ErrBadNonce, "nonce %d of %s is used already: the next is %d", tx.Nonce, tx.Sender, nonce)
		}
		return RuleErrorf(ErrBadNonce, "nonce %d of %s is not the next, %d", tx.Nonce, tx.Sender, nonce)
	}
	if balance < tx.Cost() {
		if tx.Fee != 0 {
			return RuleErrorf(ErrInsufficientBalance, "%s has %d, less than the amount %d and the fee %d", tx.Sender, balance, tx.Amount, tx.Fee)
		}
		return RuleErrorf(ErrInsufficientBalance, "%s has %d, less than the amount %d", tx.Sender, balance, tx.Amount)
	}
	return nil
}

// Credit returns balance plus amount, refusing an overflow of the balance
// of addr.
func Credit(balance uint64, addr string, amount uint64) (uint64, error) {
	if balance > math.MaxUint64-amount {
		return balance, RuleErrorf(ErrBadTransaction, "the balance of %s would overflow", addr)
	}
	return balance + amount, nil
}

// CheckLedgerFields checks the rules of the ledger mode that need no
// state: on a signed network every transaction but the reward is signed,
// and sender and recipient (the reward's too) are addresses; on an open
// network nothing is signed. It does not verify signatures.
func (p *Params) CheckLedgerFields(tx *Transaction) error {
	if !p.Signed() {
		if tx.IsSigned() {
			return RuleErrorf(ErrBadTransaction, "a signed transaction on network %q, whose ledger is open: signatures belong to signed networks", p.Name)
		}
		return nil
	}
	if tx.IsReward() {
		if tx.IsSigned() {
			return RuleErrorf(ErrBadReward, "the reward carries a signature")
		}
		if _, err := PublicKeyOf(tx.Recipient); err != nil {
			return RuleErrorf(ErrBadReward, "the reward's recipient %q: %v", tx.Recipient, err)
		}
		return nil
	}
	if !tx.IsSigned() {
		return RuleErrorf(ErrSignatureRequired, "network %q has a signed ledger: a transaction must be signed by its sender's key (see POST /transactions)", p.Name)
	}
	if _, err := PublicKeyOf(tx.Sender); err != nil {
		return RuleErrorf(ErrBadTransaction, "sender %q: %v", tx.Sender, err)
	}
	if _, err := PublicKeyOf(tx.Recipient); err != nil {
		return RuleErrorf(ErrBadTransaction, "recipient %q: %v", tx.Recipient, err)
	}
	return nil
}

// Account is the state of an address: confirmed on the main chain, and what
// the pending pool holds from it.
type Account struct {
	Address string `json:"address"`
	// Balance is the confirmed balance.
	Balance uint64 `json:"balance"`
	// NextNonce is the nonce of the address's next transaction on the main
	// chain: the number of its transactions there.
	NextNonce uint64 `json:"next_nonce"`
	// Pending counts its pending transactions (nonces NextNonce,
	// NextNonce+1, … in order); PendingSpend is their total cost (amounts
	// and fees).
	Pending      int    `json:"pending"`
	PendingSpend uint64 `json:"pending_spend"`
	// PendingNonce is the nonce a new transaction from the address must
	// carry: NextNonce + Pending.
	PendingNonce uint64 `json:"pending_nonce"`
}
