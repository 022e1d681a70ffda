package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// hashVersion starts every hash input, so a later encoding can be told apart.
const hashVersion = "lanyard.audit.v1"

// Hash returns the hex SHA-256 of e's canonical encoding: every field but Hash, in a
// fixed order, each length-prefixed so that no two events encode alike. Details are
// hashed as the bytes stored, never re-encoded, so the hash does not depend on how a
// later version of Go or of Lanyard would write the same JSON.
func Hash(e Event) string {
	h := sha256.New()
	h.Write([]byte(hashVersion))
	writeInt(h, e.Seq)
	writeString(h, e.ID)
	writeInt(h, e.Time.UnixMicro())
	writeString(h, string(e.Kind))
	writeString(h, e.RequestID)
	writeString(h, e.PrincipalID)
	writeString(h, e.ClientID)
	writeString(h, e.Action)
	writeString(h, e.Decision)
	writeString(h, e.TokenID)
	writeString(h, string(e.Details))
	writeString(h, e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

func writeInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(len(s)))
	h.Write(b[:])
	h.Write([]byte(s))
}

// link sets e's place in the chain after (seq-1, prev) and its hash.
func link(e *Event, seq int64, prev string) {
	e.Seq, e.PrevHash = seq, prev
	e.Hash = Hash(*e)
}
