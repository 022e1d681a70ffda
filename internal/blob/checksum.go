package blob

import (
	"encoding/binary"
	"hash"
	"hash/crc64"
)

// crc64Table is the CRC-64 Azure Storage uses for x-ms-content-crc64: the reflected
// polynomial 0x9A6C9329AC4BC9B5 (CRC-64/NVME) with all-ones init and final xor, which is
// what hash/crc64 applies. The Go SDK computes it with crc64.Checksum on this table and
// sends the value little-endian, base64-encoded.
var crc64Table = crc64.MakeTable(0x9A6C9329AC4BC9B5)

// CRC64 returns the Azure CRC-64 of p.
func CRC64(p []byte) uint64 { return crc64.Checksum(p, crc64Table) }

// NewCRC64 returns a hash computing the Azure CRC-64.
func NewCRC64() hash.Hash64 { return crc64.New(crc64Table) }

// CRC64Bytes encodes a CRC-64 the way x-ms-content-crc64 carries it: little-endian.
func CRC64Bytes(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
