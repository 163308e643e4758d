package sqlite

/*
#include "walbuf.h"
*/
import "C"

import (
	"fmt"
	"sync"
)

// walbufVFS is the name of the VFS that gathers WAL writes (walbuf.c).
const walbufVFS = "eventual-walbuf"

var registerWalbuf = sync.OnceValue(func() error {
	if rc := C.walbuf_register(); rc != 0 {
		return fmt.Errorf("sqlite: register the %s VFS: code %d", walbufVFS, int(rc))
	}
	return nil
})

// walbufCounts are the counters of the walbuf VFS since the program
// started.
type walbufCounts struct {
	// Asked counts the writes SQLite asked of WAL files, Passed the writes
	// passed on to the files, AfterRead the writes asked right after a
	// read (SQLite rewriting frames' checksums), Unlinked the WAL files
	// opened without a link to their database file (whose lock release
	// flushes them).
	Asked, Passed, AfterRead, Unlinked int64
}

func walbufStats() walbufCounts {
	var a, p, r, u C.longlong
	C.walbuf_stats(&a, &p, &r, &u)
	return walbufCounts{int64(a), int64(p), int64(r), int64(u)}
}
