package blob

import "time"

// Limits Azure enforces (service version 2019-12-12 and later).
const (
	MiB = 1 << 20

	MaxPutBlobSize     = 5000 * MiB // one Put Blob body
	MaxBlockSize       = 4000 * MiB // one Put Block body
	MaxCommittedBlocks = 50_000     // blocks in one Put Block List
	MaxUncommitted     = 100_000    // staged blocks per blob
	MaxBlockIDBytes    = 64         // decoded length of a block id
	MaxBlobNameLength  = 1024       // characters
	MaxMetadataSize    = 8 << 10    // names plus values, in bytes
	MaxListResults     = 5000       // entries per list page, also the default

	MaxAppendBlockSize = 4 * MiB // one Append Block body
	MaxAppendBlocks    = 50_000  // blocks in one append blob
	PageSize           = 512     // page blob sizes and page ranges are multiples of it
	MaxPageWrite       = 4 * MiB // one Put Page range
	MaxPageBlobSize    = 8 << 40 // 8 TiB

	// UncommittedBlockTTL is how long a staged block waits for Put Block List before it
	// is garbage-collected, as Azure does.
	UncommittedBlockTTL = 7 * 24 * time.Hour
)
