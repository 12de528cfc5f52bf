package chain

import (
	"errors"
	"fmt"
)

// Outcomes of adding a block that are not rule violations. Compare with
// errors.Is.
var (
	// ErrKnownBlock: the block is already stored (in the main chain or a side
	// branch). The sender did nothing wrong.
	ErrKnownBlock = errors.New("block already known")
	// ErrUnknownParent: the block's parent is not stored; the block is an
	// orphan and was not stored. The caller may fetch the parent and retry.
	ErrUnknownParent = errors.New("parent block unknown")
	// ErrKnownTransaction: the transaction is already pending or already in
	// the main chain.
	ErrKnownTransaction = errors.New("transaction already known")
	// ErrPoolFull: the pending pool is at its count or size bound.
	ErrPoolFull = errors.New("pending pool is full")
	// ErrNotFound: no block or transaction with that index, hash or id.
	ErrNotFound = errors.New("not found")
	// ErrWrongNetwork: a store or block belongs to another network.
	ErrWrongNetwork = errors.New("wrong network")
	// ErrAccountFull: the sender has as many pending transactions as one
	// account may have (store.Config.PoolMaxPerAccount); it comes with
	// ErrPoolFull.
	ErrAccountFull = errors.New("the sender has the most pending transactions one account may have")
	// ErrNotSigned: accounts were asked of a network whose ledger is open.
	ErrNotSigned = errors.New("the network's ledger is open: it has no accounts")
)

// ErrorCode identifies which consensus rule a block or transaction broke.
type ErrorCode int

// The consensus rules. Each RuleError carries one of these; errors.Is(err,
// code) matches a RuleError with that code.
const (
	ErrMalformed      ErrorCode = iota + 1 // undecodable or non-canonical encoding
	ErrTooLarge                            // size or count limit exceeded
	ErrBadIndex                            // index is not parent index + 1
	ErrBadPrevHash                         // previous_hash does not name the parent
	ErrBadDifficulty                       // bits is not a target in range, or not the one the retargeting rule requires
	ErrBadProof                            // hash is above the target of bits
	ErrBadHash                             // the stated hash is not the computed one
	ErrTimeTooOld                          // timestamp before the median of recent blocks
	ErrTimeTooNew                          // timestamp too far ahead of the local clock
	ErrBadTxRoot                           // transaction commitment does not match
	ErrBadReward                           // missing, misplaced, duplicated or wrong reward
	ErrBadTransaction                      // a malformed transaction
	ErrDuplicateTx                         // a transaction id repeated in the block or its ancestors
	ErrBadGenesis                          // a block claiming index 1 that is not the network's genesis
	// The rules of a signed ledger (see ledger.go).
	ErrSignatureRequired   // an unsigned transaction on a signed network, or a signed one on an open network
	ErrBadSignature        // the signature does not verify under the network's rule
	ErrBadNonce            // the nonce is not the sender's next account sequence
	ErrInsufficientBalance // the sender's balance does not cover the amount
	// Header version 3.
	ErrBadTxCount   // the header's tx_count is not the number of transactions
	ErrBadStateRoot // state_root is not the account-state map after the block (zero on an open network)
)

var codeNames = map[ErrorCode]string{
	ErrMalformed:      "malformed",
	ErrTooLarge:       "too_large",
	ErrBadIndex:       "bad_index",
	ErrBadPrevHash:    "bad_previous_hash",
	ErrBadDifficulty:  "bad_difficulty",
	ErrBadProof:       "bad_proof",
	ErrBadHash:        "bad_hash",
	ErrTimeTooOld:     "time_too_old",
	ErrTimeTooNew:     "time_too_new",
	ErrBadTxRoot:      "bad_tx_root",
	ErrBadReward:      "bad_reward",
	ErrBadTransaction: "bad_transaction",
	ErrDuplicateTx:    "duplicate_transaction",
	ErrBadGenesis:     "bad_genesis",

	ErrSignatureRequired:   "signature_required",
	ErrBadSignature:        "bad_signature",
	ErrBadNonce:            "bad_nonce",
	ErrInsufficientBalance: "insufficient_balance",

	ErrBadTxCount:   "bad_tx_count",
	ErrBadStateRoot: "bad_state_root",
}

// String returns a short snake_case name, suitable as a metric label.
func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code_%d", int(c))
}

// Error makes an ErrorCode usable as an errors.Is target.
func (c ErrorCode) Error() string { return c.String() }

// RuleError is a broken consensus rule: whoever sent the block or
// transaction sent something invalid and may be penalised.
type RuleError struct {
	Code        ErrorCode
	Description string
}

func (e *RuleError) Error() string { return e.Description }

// Is reports whether target is e's code.
func (e *RuleError) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.Code
}

// RuleErrorf returns a *RuleError of code whose description is formatted
// as by fmt.Sprintf.
func RuleErrorf(code ErrorCode, format string, args ...any) error {
	return &RuleError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// IsRuleError reports whether err is (or wraps) a RuleError: the input was
// invalid, as opposed to already known, an orphan, or a local fault.
func IsRuleError(err error) bool {
	var re *RuleError
	return errors.As(err, &re)
}

// RuleCode returns the code of the RuleError in err, or 0.
func RuleCode(err error) ErrorCode {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}
