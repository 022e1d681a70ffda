package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// hashVersion starts every hash input, so a later encoding can be told apart.
const hashVersion = "lanyard.audit.v1"

// Hash returns the hex SHA-256 of e's canonical encoding: every field but Hash, in a
// fixed order, each length-prefixed so that no two events encode alike. Details are
// hashed as the bytes stored, never re-encoded, so the hash does not depend on how a
// later version of Go or of Lanyard would write the same JSON.
func Hash(e Event) string {
	// Encoded into one buffer (on the stack for a typical event) and hashed at once: the
	// writer hashes every event a busy server records.
	var stack [2048]byte
	b := append(stack[:0], hashVersion...)
	b = appendInt(b, e.Seq)
	b = appendString(b, e.ID)
	b = appendInt(b, e.Time.UnixMicro())
	b = appendString(b, string(e.Kind))
	b = appendString(b, e.RequestID)
	b = appendString(b, e.PrincipalID)
	b = appendString(b, e.ClientID)
	b = appendString(b, e.Action)
	b = appendString(b, e.Decision)
	b = appendString(b, e.TokenID)
	b = binary.BigEndian.AppendUint64(b, uint64(len(e.Details)))
	b = append(b, e.Details...)
	b = appendString(b, e.PrevHash)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func appendInt(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// link sets e's place in the chain after (seq-1, prev) and its hash.
func link(e *Event, seq int64, prev string) {
	e.Seq, e.PrevHash = seq, prev
	e.Hash = Hash(*e)
}
