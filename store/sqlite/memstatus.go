package sqlite

/*
// The library is go-sqlite3's copy of SQLite, linked into the same binary;
// sqlite3_config is variadic, which cgo cannot call, hence the wrapper.
int sqlite3_config(int, ...);
long long sqlite3_memory_used(void);

// SQLITE_CONFIG_MEMSTATUS is 9. sqlite3_config fails with SQLITE_MISUSE
// once the library is initialized (by the first connection opened).
static int eventual_sqlite_memstatus_off(void) {
	return sqlite3_config(9, 0);
}
*/
import "C"

// memStatusErr is what turning SQLite's memory statistics off returned:
// 0 when it worked (see init).
var memStatusErr int

// SQLite keeps statistics of its memory use by default, under one mutex
// that every allocation of every connection in the process takes. With
// several databases and connections writing at once, threads queue on it
// (futex waits and wake-ups under load; ADR 0014). The store reads no
// statistics, so they are turned off before any connection is opened;
// sqlite3_memory_used then reports 0 and a soft heap limit is not
// enforced. It runs in init because sqlite3_config is only allowed before
// the library is initialized, which the first connection opened does; if
// another package's init opened one already, the setting stays as it is.
func init() {
	memStatusErr = int(C.eventual_sqlite_memstatus_off())
}

// memoryUsed is SQLite's count of the memory it holds: 0 while the
// statistics are off.
func memoryUsed() int64 { return int64(C.sqlite3_memory_used()) }
