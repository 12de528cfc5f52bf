package chain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// RewardSender is the sender of the mining reward transaction, as in the
// tutorial.
const RewardSender = "0"

// MaxAddressLen is the longest sender or recipient address, in bytes.
const MaxAddressLen = 128

// MaxAmount is the largest amount of one transaction: 2^53-1, so that every
// amount is exact in any JSON implementation that uses float64 numbers. The
// amount and the fee of a signed transaction together are at most MaxAmount.
const MaxAmount = 1<<53 - 1

// Transaction moves Amount from Sender to Recipient. Nonce tells apart two
// otherwise identical payments; ID is the SHA-256 of the transaction's
// canonical encoding (PROTOCOL.md 2.1, 2.4) and so commits to every other
// field.
type Transaction struct {
	ID        Hash   `json:"id"`
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
	Amount    uint64 `json:"amount"`
	Nonce     uint64 `json:"nonce"`
	// Fee is what the sender of a signed transaction pays the miner of its
	// block, on top of Amount; "fee" in JSON, absent when 0. An unsigned
	// transaction (the open ledger's, and every reward) has none: its
	// encoding has no field for it, so it must be 0.
	Fee uint64 `json:"fee,omitzero"`
	// Signature is the sender's Ed25519 signature on a signed network (see
	// SigningBytes), zero on an open one. In JSON it is "signature", 128
	// hex characters, present only when the transaction is signed.
	Signature Signature `json:"signature,omitzero"`
}

// NewTransaction builds a transaction with a random nonce and its id. The
// nonce has 53 random bits, so that, like every amount, it is exact in JSON
// implementations whose numbers are float64.
func NewTransaction(sender, recipient string, amount uint64) (Transaction, error) {
	var n [8]byte
	if _, err := rand.Read(n[:]); err != nil {
		return Transaction{}, fmt.Errorf("draw nonce: %w", err)
	}
	nonce := binary.BigEndian.Uint64(n[:]) & MaxAmount
	tx := Transaction{Sender: sender, Recipient: recipient, Amount: amount, Nonce: nonce}
	if err := tx.CheckFields(); err != nil {
		return Transaction{}, err
	}
	if tx.Sender == RewardSender {
		return Transaction{}, RuleErrorf(ErrBadTransaction, "sender %q is reserved for mining rewards", RewardSender)
	}
	tx.ID = tx.ComputeID()
	return tx, nil
}

// NewRewardTransaction builds the reward transaction of the block at index:
// sender "0", nonce = index, so reward ids never repeat along one chain.
func NewRewardTransaction(recipient string, amount, index uint64) Transaction {
	tx := Transaction{Sender: RewardSender, Recipient: recipient, Amount: amount, Nonce: index}
	tx.ID = tx.ComputeID()
	return tx
}

// IsReward reports whether tx is a mining reward.
func (tx *Transaction) IsReward() bool { return tx.Sender == RewardSender }

// signedFlag is set in the sender length of a signed transaction's
// encoding: the fee (8 bytes) and the 64-byte signature follow the nonce.
const signedFlag = 0x8000

// IsSigned reports whether tx carries a signature.
func (tx *Transaction) IsSigned() bool { return !tx.Signature.IsZero() }

// appendCanonical appends the canonical encoding of tx (without its id):
// that of appendUnsigned, and for a signed transaction the sender length
// with signedFlag set and the fee and the signature after the nonce.
func (tx *Transaction) appendCanonical(b []byte) []byte {
	start := len(b)
	b = tx.appendUnsigned(b)
	if tx.IsSigned() {
		b[start] |= signedFlag >> 8
		b = binary.BigEndian.AppendUint64(b, tx.Fee)
		b = append(b, tx.Signature[:]...)
	}
	return b
}

// appendUnsigned appends the encoding of tx without its signature.
func (tx *Transaction) appendUnsigned(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(tx.Sender)))
	b = append(b, tx.Sender...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(tx.Recipient)))
	b = append(b, tx.Recipient...)
	b = binary.BigEndian.AppendUint64(b, tx.Amount)
	b = binary.BigEndian.AppendUint64(b, tx.Nonce)
	return b
}

func (tx *Transaction) unsignedSize() int { return 2 + len(tx.Sender) + 2 + len(tx.Recipient) + 16 }

// EncodedSize is the size of the canonical encoding of tx.
func (tx *Transaction) EncodedSize() int {
	if tx.IsSigned() {
		return tx.unsignedSize() + 8 + SignatureSize
	}
	return tx.unsignedSize()
}

// MaxTxSize is the size of the largest canonical transaction encoding: a
// signed one (amount, nonce and fee) between two addresses of
// MaxAddressLen bytes.
const MaxTxSize = 2*(2+MaxAddressLen) + 24 + SignatureSize

// ComputeID returns the SHA-256 of the canonical encoding of tx.
func (tx *Transaction) ComputeID() Hash {
	var buf [MaxTxSize]byte
	if tx.EncodedSize() > len(buf) {
		return sha256.Sum256(tx.appendCanonical(nil))
	}
	return sha256.Sum256(tx.appendCanonical(buf[:0]))
}

// Cost is what the sender of tx pays: its amount and its fee.
func (tx *Transaction) Cost() uint64 { return tx.Amount + tx.Fee }

// CheckFields checks the well-formedness rules that need no context:
// addresses non-empty, at most MaxAddressLen bytes of printable UTF-8, an
// amount from 1 to MaxAmount, and amount + fee at most MaxAmount. It does
// not check the id.
func (tx *Transaction) CheckFields() error {
	if err := checkAddress("sender", tx.Sender); err != nil {
		return err
	}
	if err := checkAddress("recipient", tx.Recipient); err != nil {
		return err
	}
	if tx.Amount == 0 {
		return RuleErrorf(ErrBadTransaction, "amount must be a positive integer")
	}
	if tx.Amount > MaxAmount {
		return RuleErrorf(ErrBadTransaction, "amount %d exceeds the maximum %d", tx.Amount, uint64(MaxAmount))
	}
	if tx.Fee > MaxAmount-tx.Amount {
		return RuleErrorf(ErrBadTransaction, "amount %d and fee %d together exceed the maximum %d", tx.Amount, tx.Fee, uint64(MaxAmount))
	}
	return nil
}

// Check runs CheckFields and verifies the id. An unsigned transaction with
// a fee is refused: its encoding, and so its id, would not cover the fee.
func (tx *Transaction) Check() error {
	if err := tx.CheckFields(); err != nil {
		return err
	}
	if tx.Fee != 0 && !tx.IsSigned() {
		return RuleErrorf(ErrBadTransaction, "an unsigned transaction with a fee of %d: only signed transactions carry fees", tx.Fee)
	}
	if want := tx.ComputeID(); tx.ID != want {
		return RuleErrorf(ErrBadTransaction, "transaction id %s does not match its contents (want %s)", tx.ID, want)
	}
	return nil
}

func checkAddress(field, s string) error {
	if s == "" {
		return RuleErrorf(ErrBadTransaction, "%s is empty", field)
	}
	if len(s) > MaxAddressLen {
		return RuleErrorf(ErrBadTransaction, "%s is longer than %d bytes", field, MaxAddressLen)
	}
	if !utf8.ValidString(s) {
		return RuleErrorf(ErrBadTransaction, "%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return RuleErrorf(ErrBadTransaction, "%s contains a non-printable character %U", field, r)
		}
	}
	return nil
}

// CheckRewardAddress checks that addr may receive the block reward on the
// network of p: a well-formed address, not the reward's own sender, and on
// a signed network the address of a key.
func (p *Params) CheckRewardAddress(addr string) error {
	if err := checkAddress("miner address", addr); err != nil {
		return err
	}
	if p.Signed() {
		if _, err := PublicKeyOf(addr); err != nil {
			return fmt.Errorf("miner address %q on a signed network: %w", addr, err)
		}
	}
	if addr == RewardSender {
		return fmt.Errorf("miner address %q is reserved", RewardSender)
	}
	return nil
}
