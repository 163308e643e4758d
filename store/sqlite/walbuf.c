/*
** walbuf: a VFS over SQLite's default one that gathers the writes to a WAL
** file.
**
** SQLite writes each WAL frame with two calls, its 24-byte header and then
** its page, and each is a system call that dirties a page-cache folio or
** two: a commit of 20 pages is 40 pwrite calls. This VFS keeps writes to a
** WAL file that follow one another in a buffer and passes them to the file
** as one write (of at most WALBUF_SIZE bytes) when they must reach it:
**
**   - right after the page of a commit frame (a frame whose header gives
**     the database size): SQLite makes a transaction visible to other
**     connections, in the WAL index, only after writing its frames, so it
**     is in the file first, with or without a sync;
**   - before anything else the file is asked: a read, a sync, a truncate,
**     its size, a file control, a fetch, closing it;
**   - before a write that does not follow the buffered ones, and when the
**     buffer is full.
**
** A write right after a read is passed on at once: that is how SQLite
** rewrites the checksums of frames already written (walRewriteChecksums
** reads each frame, then writes its header), the last of them a commit
** frame's header with no page after it.
**
** And whatever is still buffered (frames of a transaction that rolled
** back after spilling pages) goes to the file before the connection gives
** up the WAL's write lock, while those offsets are still its own: never
** later, over frames another connection has committed there since. The
** database file is wrapped for that alone: its xShmLock passes the lock
** on after flushing the WAL file of the same connection (linked at its
** open with sqlite3_database_file_object).
**
** So what reaches the file, and when it is synced, is what SQLite asked
** for, in the same order; only the number of calls changes. A crash loses
** at most frames of a transaction that has not committed. Other files
** are the default VFS's own.
*/
#include <stdlib.h>
#include <string.h>
#include "walbuf.h"

/* The default VFS writes at most 128 KiB - 1 bytes a call. */
#define WALBUF_SIZE (120 * 1024)
#define WAL_FRAME_HDRSIZE 24

typedef struct WalBufFile WalBufFile;
typedef struct WalBufDb WalBufDb;

/* What a WAL file and a database file of this VFS begin with: the file
** SQLite sees, and the default VFS's file (after the struct) that the
** calls pass on to. */
typedef struct WalBufBase {
  sqlite3_file base;
  sqlite3_file *real;
} WalBufBase;

#define REAL(f) (((WalBufBase*)(f))->real)
#define REALM(f) (REAL(f)->pMethods)

struct WalBufFile {
  WalBufBase f;
  unsigned char *buf;     /* writes not yet passed on, or NULL */
  sqlite3_int64 bufOfst;  /* file offset of buf[0] */
  int bufLen;
  sqlite3_int64 commitPage; /* offset of the page of the commit frame whose
                            ** header was written last, or -1 */
  int afterRead;          /* the last call was a read */
  WalBufDb *db;           /* the database file of the same connection */
};

/* A database file: the default VFS's, and the WAL file of the same
** connection while it is open. */
struct WalBufDb {
  WalBufBase f;
  WalBufFile *wal;
};

static sqlite3_vfs *walbufReal;

/* Counters for tests (walbuf_stats): writes asked of WAL files, writes
** passed on to them, writes after a read, passed on at once, and WAL files
** opened without their database file to flush them at the write lock's
** release. */
static long long walbufAsked, walbufPassed, walbufAfterRead, walbufUnlinked;
static sqlite3_vfs walbufVfs;

/* Calls both kinds of file pass on as they are. The unix VFS has version 3
** methods; the guards keep an older one from being called past its end. */
static int passClose(sqlite3_file *f){ return REALM(f)->xClose(REAL(f)); }
static int passRead(sqlite3_file *f, void *z, int n, sqlite3_int64 o){ return REALM(f)->xRead(REAL(f), z, n, o); }
static int passWrite(sqlite3_file *f, const void *z, int n, sqlite3_int64 o){ return REALM(f)->xWrite(REAL(f), z, n, o); }
static int passTruncate(sqlite3_file *f, sqlite3_int64 size){ return REALM(f)->xTruncate(REAL(f), size); }
static int passSync(sqlite3_file *f, int flags){ return REALM(f)->xSync(REAL(f), flags); }
static int passFileSize(sqlite3_file *f, sqlite3_int64 *p){ return REALM(f)->xFileSize(REAL(f), p); }
static int passLock(sqlite3_file *f, int e){ return REALM(f)->xLock(REAL(f), e); }
static int passUnlock(sqlite3_file *f, int e){ return REALM(f)->xUnlock(REAL(f), e); }
static int passCheckReservedLock(sqlite3_file *f, int *r){ return REALM(f)->xCheckReservedLock(REAL(f), r); }
static int passFileControl(sqlite3_file *f, int op, void *a){ return REALM(f)->xFileControl(REAL(f), op, a); }
static int passSectorSize(sqlite3_file *f){ return REALM(f)->xSectorSize(REAL(f)); }
static int passDeviceCharacteristics(sqlite3_file *f){ return REALM(f)->xDeviceCharacteristics(REAL(f)); }
static int passShmMap(sqlite3_file *f, int iPg, int pgsz, int b, void volatile **pp){
  if( REALM(f)->iVersion<2 ) return SQLITE_IOERR;
  return REALM(f)->xShmMap(REAL(f), iPg, pgsz, b, pp);
}
static int passShmLock(sqlite3_file *f, int ofst, int n, int flags){
  if( REALM(f)->iVersion<2 ) return SQLITE_IOERR;
  return REALM(f)->xShmLock(REAL(f), ofst, n, flags);
}
static void passShmBarrier(sqlite3_file *f){
  if( REALM(f)->iVersion>=2 ) REALM(f)->xShmBarrier(REAL(f));
}
static int passShmUnmap(sqlite3_file *f, int del){
  if( REALM(f)->iVersion<2 ) return SQLITE_OK;
  return REALM(f)->xShmUnmap(REAL(f), del);
}
static int passFetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp){
  if( REALM(f)->iVersion<3 ){ *pp = 0; return SQLITE_OK; }
  return REALM(f)->xFetch(REAL(f), o, n, pp);
}
static int passUnfetch(sqlite3_file *f, sqlite3_int64 o, void *z){
  if( REALM(f)->iVersion<3 ) return SQLITE_OK;
  return REALM(f)->xUnfetch(REAL(f), o, z);
}

static int walbufFlush(WalBufFile *p){
  int rc = SQLITE_OK;
  if( p->bufLen>0 ){
    __atomic_fetch_add(&walbufPassed, 1, __ATOMIC_RELAXED);
    rc = passWrite(&p->f.base, p->buf, p->bufLen, p->bufOfst);
    p->bufLen = 0;
  }
  return rc;
}

static int walbufClose(sqlite3_file *f){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( p->db && p->db->wal==p ) p->db->wal = 0;
  int rc2 = passClose(f);
  free(p->buf);
  p->buf = 0;
  return rc!=SQLITE_OK ? rc : rc2;
}

static int walbufRead(sqlite3_file *f, void *z, int n, sqlite3_int64 ofst){
  int rc = walbufFlush((WalBufFile*)f);
  if( rc!=SQLITE_OK ) return rc;
  ((WalBufFile*)f)->afterRead = 1;
  return passRead(f, z, n, ofst);
}

static int walbufWrite(sqlite3_file *f, const void *z, int n, sqlite3_int64 ofst){
  WalBufFile *p = (WalBufFile*)f;
  const unsigned char *h = (const unsigned char*)z;
  int rc;
  int commit = ofst==p->commitPage;   /* the page of a commit frame */
  int afterRead = p->afterRead;
  p->commitPage = -1;
  p->afterRead = 0;
  __atomic_fetch_add(&walbufAsked, 1, __ATOMIC_RELAXED);
  if( n==WAL_FRAME_HDRSIZE && (h[4]|h[5]|h[6]|h[7])!=0 ){
    p->commitPage = ofst + WAL_FRAME_HDRSIZE;
  }
  if( p->bufLen>0 && (ofst!=p->bufOfst+p->bufLen || p->bufLen+n>WALBUF_SIZE) ){
    rc = walbufFlush(p);
    if( rc!=SQLITE_OK ) return rc;
  }
  if( p->buf==0 && !afterRead && n<=WALBUF_SIZE ){
    p->buf = (unsigned char*)malloc(WALBUF_SIZE);
  }
  if( afterRead ){
    __atomic_fetch_add(&walbufAfterRead, 1, __ATOMIC_RELAXED);
  }
  if( afterRead || p->buf==0 || n>WALBUF_SIZE ){
    rc = walbufFlush(p);
    if( rc!=SQLITE_OK ) return rc;
    __atomic_fetch_add(&walbufPassed, 1, __ATOMIC_RELAXED);
    return passWrite(f, z, n, ofst);
  }
  if( p->bufLen==0 ) p->bufOfst = ofst;
  memcpy(p->buf+p->bufLen, z, n);
  p->bufLen += n;
  return commit ? walbufFlush(p) : SQLITE_OK;
}

static int walbufTruncate(sqlite3_file *f, sqlite3_int64 size){
  int rc = walbufFlush((WalBufFile*)f);
  return rc!=SQLITE_OK ? rc : passTruncate(f, size);
}

static int walbufSync(sqlite3_file *f, int flags){
  int rc = walbufFlush((WalBufFile*)f);
  return rc!=SQLITE_OK ? rc : passSync(f, flags);
}

static int walbufFileSize(sqlite3_file *f, sqlite3_int64 *pSize){
  int rc = walbufFlush((WalBufFile*)f);
  return rc!=SQLITE_OK ? rc : passFileSize(f, pSize);
}

static int walbufFileControl(sqlite3_file *f, int op, void *pArg){
  int rc = walbufFlush((WalBufFile*)f);
  return rc!=SQLITE_OK ? rc : passFileControl(f, op, pArg);
}

static int walbufFetch(sqlite3_file *f, sqlite3_int64 ofst, int n, void **pp){
  int rc = walbufFlush((WalBufFile*)f);
  return rc!=SQLITE_OK ? rc : passFetch(f, ofst, n, pp);
}

/* A WAL file's methods: those that touch its contents flush first. */
static const sqlite3_io_methods walbufMethods = {
  3,
  walbufClose, walbufRead, walbufWrite, walbufTruncate, walbufSync, walbufFileSize,
  passLock, passUnlock, passCheckReservedLock, walbufFileControl,
  passSectorSize, passDeviceCharacteristics,
  passShmMap, passShmLock, passShmBarrier, passShmUnmap,
  walbufFetch, passUnfetch
};

/* The database file's methods: the default VFS's, but for xShmLock,
** which flushes the connection's WAL buffer before it lets the write lock
** go (slot 0 of the WAL index locks), and xClose, which unlinks. */
static int walbufDbClose(sqlite3_file *f){
  WalBufDb *d = (WalBufDb*)f;
  if( d->wal ) d->wal->db = 0;
  d->wal = 0;
  return passClose(f);
}

static int walbufDbShmLock(sqlite3_file *f, int ofst, int n, int flags){
  WalBufDb *d = (WalBufDb*)f;
  if( d->wal && (flags & SQLITE_SHM_UNLOCK) && ofst==0 ){
    /* Frames past the commit point, if any: their error changes nothing. */
    (void)walbufFlush(d->wal);
  }
  return passShmLock(f, ofst, n, flags);
}

static const sqlite3_io_methods walbufDbMethods = {
  3,
  walbufDbClose, passRead, passWrite, passTruncate, passSync, passFileSize,
  passLock, passUnlock, passCheckReservedLock, passFileControl,
  passSectorSize, passDeviceCharacteristics,
  passShmMap, walbufDbShmLock, passShmBarrier, passShmUnmap,
  passFetch, passUnfetch
};

/* The default VFS's file sits after the WalBufFile or WalBufDb, 8-byte
** aligned. */
#define WALBUF_HDR ((int)((sizeof(WalBufFile)+7)&~7))
#define WALBUF_DB_HDR ((int)((sizeof(WalBufDb)+7)&~7))

static int walbufOpen(sqlite3_vfs *vfs, sqlite3_filename zName, sqlite3_file *f, int flags, int *pOutFlags){
  WalBufFile *p = (WalBufFile*)f;
  int rc;
  (void)vfs;
  if( flags & SQLITE_OPEN_MAIN_DB ){
    WalBufDb *d = (WalBufDb*)f;
    memset(d, 0, sizeof(*d));
    d->f.real = (sqlite3_file*)(((char*)f) + WALBUF_DB_HDR);
    rc = walbufReal->xOpen(walbufReal, zName, d->f.real, flags, pOutFlags);
    if( d->f.real->pMethods ){
      d->f.base.pMethods = &walbufDbMethods;
    }
    return rc;
  }
  if( (flags & SQLITE_OPEN_WAL)==0 ){
    /* Neither: the default VFS's file itself, at the start. */
    return walbufReal->xOpen(walbufReal, zName, f, flags, pOutFlags);
  }
  memset(p, 0, sizeof(*p));
  p->commitPage = -1;
  p->f.real = (sqlite3_file*)(((char*)f) + WALBUF_HDR);
  rc = walbufReal->xOpen(walbufReal, zName, p->f.real, flags, pOutFlags);
  if( p->f.real->pMethods ){
    sqlite3_file *db = sqlite3_database_file_object(zName);
    p->f.base.pMethods = &walbufMethods;
    if( db && db->pMethods==&walbufDbMethods ){
      p->db = (WalBufDb*)db;
      p->db->wal = p;
    }else{
      __atomic_fetch_add(&walbufUnlinked, 1, __ATOMIC_RELAXED);
    }
  }
  return rc;
}

#define FORWARD(name, args, call) static int walbuf##name args { return walbufReal->x##name call; }
FORWARD(Delete, (sqlite3_vfs *v, const char *z, int d), (walbufReal, z, d))
FORWARD(Access, (sqlite3_vfs *v, const char *z, int fl, int *r), (walbufReal, z, fl, r))
FORWARD(FullPathname, (sqlite3_vfs *v, const char *z, int n, char *o), (walbufReal, z, n, o))
static void *walbufDlOpen(sqlite3_vfs *v, const char *z){ return walbufReal->xDlOpen(walbufReal, z); }
static void walbufDlError(sqlite3_vfs *v, int n, char *z){ walbufReal->xDlError(walbufReal, n, z); }
static void (*walbufDlSym(sqlite3_vfs *v, void *h, const char *z))(void){ return walbufReal->xDlSym(walbufReal, h, z); }
static void walbufDlClose(sqlite3_vfs *v, void *h){ walbufReal->xDlClose(walbufReal, h); }
FORWARD(Randomness, (sqlite3_vfs *v, int n, char *o), (walbufReal, n, o))
FORWARD(Sleep, (sqlite3_vfs *v, int us), (walbufReal, us))
FORWARD(CurrentTime, (sqlite3_vfs *v, double *t), (walbufReal, t))
FORWARD(GetLastError, (sqlite3_vfs *v, int n, char *z), (walbufReal, n, z))
FORWARD(CurrentTimeInt64, (sqlite3_vfs *v, sqlite3_int64 *t), (walbufReal, t))

int walbuf_register(void){
  sqlite3_vfs *real = sqlite3_vfs_find(0);
  if( real==0 ) return 1;
  walbufReal = real;
  walbufVfs.iVersion = 2;
  walbufVfs.szOsFile = (WALBUF_HDR>WALBUF_DB_HDR ? WALBUF_HDR : WALBUF_DB_HDR) + real->szOsFile;
  walbufVfs.mxPathname = real->mxPathname;
  walbufVfs.zName = "eventual-walbuf";
  walbufVfs.xOpen = walbufOpen;
  walbufVfs.xDelete = walbufDelete;
  walbufVfs.xAccess = walbufAccess;
  walbufVfs.xFullPathname = walbufFullPathname;
  walbufVfs.xDlOpen = walbufDlOpen;
  walbufVfs.xDlError = walbufDlError;
  walbufVfs.xDlSym = walbufDlSym;
  walbufVfs.xDlClose = walbufDlClose;
  walbufVfs.xRandomness = walbufRandomness;
  walbufVfs.xSleep = walbufSleep;
  walbufVfs.xCurrentTime = walbufCurrentTime;
  walbufVfs.xGetLastError = walbufGetLastError;
  walbufVfs.xCurrentTimeInt64 = walbufCurrentTimeInt64;
  return sqlite3_vfs_register(&walbufVfs, 0);
}

void walbuf_stats(long long *asked, long long *passed, long long *afterRead, long long *unlinked){
  *asked = __atomic_load_n(&walbufAsked, __ATOMIC_RELAXED);
  *passed = __atomic_load_n(&walbufPassed, __ATOMIC_RELAXED);
  *afterRead = __atomic_load_n(&walbufAfterRead, __ATOMIC_RELAXED);
  *unlinked = __atomic_load_n(&walbufUnlinked, __ATOMIC_RELAXED);
}
