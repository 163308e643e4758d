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
	// read (SQLite rewriting frames' checksums).
	Asked, Passed, AfterRead int64
}

func walbufStats() walbufCounts {
	var a, p, r C.longlong
	C.walbuf_stats(&a, &p, &r)
	return walbufCounts{int64(a), int64(p), int64(r)}
}
