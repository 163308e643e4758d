// Package stmtstatus tells how often SQLite prepared a statement again
// while it ran, for tests of the SQL the store writes. It calls SQLite's C
// API directly and declares the few functions it needs itself: they come
// from the SQLite that github.com/mattn/go-sqlite3 compiles in, so only a
// program that links that driver (the store's tests) can use it.
package stmtstatus

/*
#include <stdlib.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int sqlite3_close_v2(sqlite3 *db);
int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail);
int sqlite3_bind_int64(sqlite3_stmt *stmt, int i, long long v);
int sqlite3_step(sqlite3_stmt *stmt);
int sqlite3_reset(sqlite3_stmt *stmt);
int sqlite3_finalize(sqlite3_stmt *stmt);
int sqlite3_stmt_status(sqlite3_stmt *stmt, int op, int reset);
const char *sqlite3_errmsg(sqlite3 *db);
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// SQLite's constants used here.
const (
	openReadOnly    = 0x00000001
	openURI         = 0x00000040
	sqliteOK        = 0
	stepRow         = 100
	stepDone        = 101
	statusReprepare = 5  // SQLITE_STMTSTATUS_REPREPARE
	wholeString     = -1 // the query's length: up to its NUL
)

// Reprepares opens the database file at path read-only, prepares query
// once and runs it once per element of runs (binding its integers to the
// parameters in order and stepping through every row), and returns how
// many times SQLite prepared the statement again meanwhile.
func Reprepares(path, query string, runs [][]int64) (int, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var db *C.sqlite3
	if rc := C.sqlite3_open_v2(cpath, &db, openReadOnly|openURI, nil); rc != sqliteOK {
		if db != nil {
			defer C.sqlite3_close_v2(db)
		}
		return 0, fmt.Errorf("open %s: code %d", path, int(rc))
	}
	defer C.sqlite3_close_v2(db)
	cquery := C.CString(query)
	defer C.free(unsafe.Pointer(cquery))
	var stmt *C.sqlite3_stmt
	if rc := C.sqlite3_prepare_v2(db, cquery, wholeString, &stmt, nil); rc != sqliteOK {
		return 0, fmt.Errorf("prepare %q: %s", query, C.GoString(C.sqlite3_errmsg(db)))
	}
	defer C.sqlite3_finalize(stmt)
	for _, args := range runs {
		C.sqlite3_reset(stmt)
		for i, a := range args {
			if rc := C.sqlite3_bind_int64(stmt, C.int(i+1), C.longlong(a)); rc != sqliteOK {
				return 0, fmt.Errorf("bind %d: %s", i+1, C.GoString(C.sqlite3_errmsg(db)))
			}
		}
		for {
			rc := C.sqlite3_step(stmt)
			if rc == stepDone {
				break
			}
			if rc != stepRow {
				return 0, fmt.Errorf("step %q: %s", query, C.GoString(C.sqlite3_errmsg(db)))
			}
		}
	}
	return int(C.sqlite3_stmt_status(stmt, statusReprepare, 0)), nil
}
