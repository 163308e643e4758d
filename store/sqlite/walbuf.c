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

struct WalBufFile {
  sqlite3_file base;
  sqlite3_file *real;     /* the default VFS's file, after this struct */
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
  sqlite3_file base;
  sqlite3_file *real;     /* the default VFS's file, after this struct */
  WalBufFile *wal;
};

static sqlite3_vfs *walbufReal;

/* Counters for tests (walbuf_stats): writes asked of WAL files, writes
** passed on to them, writes after a read, passed on at once, and WAL files
** opened without their database file to flush them at the write lock's
** release. */
static long long walbufAsked, walbufPassed, walbufAfterRead, walbufUnlinked;
static sqlite3_vfs walbufVfs;

#define REALFILE(p) (((WalBufFile*)(p))->real)

static int walbufFlush(WalBufFile *p){
  int rc = SQLITE_OK;
  if( p->bufLen>0 ){
    __atomic_fetch_add(&walbufPassed, 1, __ATOMIC_RELAXED);
    rc = p->real->pMethods->xWrite(p->real, p->buf, p->bufLen, p->bufOfst);
    p->bufLen = 0;
  }
  return rc;
}

static int walbufClose(sqlite3_file *f){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( p->db && p->db->wal==p ) p->db->wal = 0;
  int rc2 = p->real->pMethods->xClose(p->real);
  free(p->buf);
  p->buf = 0;
  return rc!=SQLITE_OK ? rc : rc2;
}

static int walbufRead(sqlite3_file *f, void *z, int n, sqlite3_int64 ofst){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  p->afterRead = 1;
  return p->real->pMethods->xRead(p->real, z, n, ofst);
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
    return p->real->pMethods->xWrite(p->real, z, n, ofst);
  }
  if( p->bufLen==0 ) p->bufOfst = ofst;
  memcpy(p->buf+p->bufLen, z, n);
  p->bufLen += n;
  return commit ? walbufFlush(p) : SQLITE_OK;
}

static int walbufTruncate(sqlite3_file *f, sqlite3_int64 size){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  return p->real->pMethods->xTruncate(p->real, size);
}

static int walbufSync(sqlite3_file *f, int flags){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  return p->real->pMethods->xSync(p->real, flags);
}

static int walbufFileSize(sqlite3_file *f, sqlite3_int64 *pSize){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  return p->real->pMethods->xFileSize(p->real, pSize);
}

static int walbufLock(sqlite3_file *f, int e){
  return REALFILE(f)->pMethods->xLock(REALFILE(f), e);
}
static int walbufUnlock(sqlite3_file *f, int e){
  return REALFILE(f)->pMethods->xUnlock(REALFILE(f), e);
}
static int walbufCheckReservedLock(sqlite3_file *f, int *pRes){
  return REALFILE(f)->pMethods->xCheckReservedLock(REALFILE(f), pRes);
}

static int walbufFileControl(sqlite3_file *f, int op, void *pArg){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  return p->real->pMethods->xFileControl(p->real, op, pArg);
}

static int walbufSectorSize(sqlite3_file *f){
  return REALFILE(f)->pMethods->xSectorSize(REALFILE(f));
}
static int walbufDeviceCharacteristics(sqlite3_file *f){
  return REALFILE(f)->pMethods->xDeviceCharacteristics(REALFILE(f));
}

/* A WAL file is never memory-mapped or given shared memory by SQLite;
** these only pass the calls on. */
static int walbufShmMap(sqlite3_file *f, int iPg, int pgsz, int b, void volatile **pp){
  return REALFILE(f)->pMethods->xShmMap(REALFILE(f), iPg, pgsz, b, pp);
}
static int walbufShmLock(sqlite3_file *f, int ofst, int n, int flags){
  return REALFILE(f)->pMethods->xShmLock(REALFILE(f), ofst, n, flags);
}
static void walbufShmBarrier(sqlite3_file *f){
  REALFILE(f)->pMethods->xShmBarrier(REALFILE(f));
}
static int walbufShmUnmap(sqlite3_file *f, int del){
  return REALFILE(f)->pMethods->xShmUnmap(REALFILE(f), del);
}
static int walbufFetch(sqlite3_file *f, sqlite3_int64 ofst, int n, void **pp){
  WalBufFile *p = (WalBufFile*)f;
  int rc = walbufFlush(p);
  if( rc!=SQLITE_OK ) return rc;
  return p->real->pMethods->xFetch(p->real, ofst, n, pp);
}
static int walbufUnfetch(sqlite3_file *f, sqlite3_int64 ofst, void *z){
  return REALFILE(f)->pMethods->xUnfetch(REALFILE(f), ofst, z);
}

static const sqlite3_io_methods walbufMethods = {
  3,
  walbufClose, walbufRead, walbufWrite, walbufTruncate, walbufSync, walbufFileSize,
  walbufLock, walbufUnlock, walbufCheckReservedLock, walbufFileControl,
  walbufSectorSize, walbufDeviceCharacteristics,
  walbufShmMap, walbufShmLock, walbufShmBarrier, walbufShmUnmap,
  walbufFetch, walbufUnfetch
};

/* The default VFS's file sits after the WalBufFile or WalBufDb, 8-byte
** aligned. */
#define WALBUF_HDR ((int)((sizeof(WalBufFile)+7)&~7))
#define WALBUF_DB_HDR ((int)((sizeof(WalBufDb)+7)&~7))

/* The database file's methods: the default VFS's, but for xShmLock,
** which flushes the connection's WAL buffer before it lets the write lock
** go (slot 0 of the WAL index locks), and xClose, which unlinks. */
#define REALDB(f) (((WalBufDb*)(f))->real)
#define REALDBM(f) (REALDB(f)->pMethods)

static int walbufDbClose(sqlite3_file *f){
  WalBufDb *d = (WalBufDb*)f;
  if( d->wal ) d->wal->db = 0;
  d->wal = 0;
  return REALDBM(f)->xClose(REALDB(f));
}
static int walbufDbRead(sqlite3_file *f, void *z, int n, sqlite3_int64 o){ return REALDBM(f)->xRead(REALDB(f), z, n, o); }
static int walbufDbWrite(sqlite3_file *f, const void *z, int n, sqlite3_int64 o){ return REALDBM(f)->xWrite(REALDB(f), z, n, o); }
static int walbufDbTruncate(sqlite3_file *f, sqlite3_int64 size){ return REALDBM(f)->xTruncate(REALDB(f), size); }
static int walbufDbSync(sqlite3_file *f, int flags){ return REALDBM(f)->xSync(REALDB(f), flags); }
static int walbufDbFileSize(sqlite3_file *f, sqlite3_int64 *p){ return REALDBM(f)->xFileSize(REALDB(f), p); }
static int walbufDbLock(sqlite3_file *f, int e){ return REALDBM(f)->xLock(REALDB(f), e); }
static int walbufDbUnlock(sqlite3_file *f, int e){ return REALDBM(f)->xUnlock(REALDB(f), e); }
static int walbufDbCheckReservedLock(sqlite3_file *f, int *r){ return REALDBM(f)->xCheckReservedLock(REALDB(f), r); }
static int walbufDbFileControl(sqlite3_file *f, int op, void *a){ return REALDBM(f)->xFileControl(REALDB(f), op, a); }
static int walbufDbSectorSize(sqlite3_file *f){ return REALDBM(f)->xSectorSize(REALDB(f)); }
static int walbufDbDeviceCharacteristics(sqlite3_file *f){ return REALDBM(f)->xDeviceCharacteristics(REALDB(f)); }
static int walbufDbShmMap(sqlite3_file *f, int iPg, int pgsz, int b, void volatile **pp){
  if( REALDBM(f)->iVersion<2 ) return SQLITE_IOERR;
  return REALDBM(f)->xShmMap(REALDB(f), iPg, pgsz, b, pp);
}
static int walbufDbShmLock(sqlite3_file *f, int ofst, int n, int flags){
  WalBufDb *d = (WalBufDb*)f;
  if( REALDBM(f)->iVersion<2 ) return SQLITE_IOERR;
  if( d->wal && (flags & SQLITE_SHM_UNLOCK) && ofst==0 ){
    /* Frames past the commit point, if any: their error changes nothing. */
    (void)walbufFlush(d->wal);
  }
  return REALDBM(f)->xShmLock(REALDB(f), ofst, n, flags);
}
static void walbufDbShmBarrier(sqlite3_file *f){
  if( REALDBM(f)->iVersion>=2 ) REALDBM(f)->xShmBarrier(REALDB(f));
}
static int walbufDbShmUnmap(sqlite3_file *f, int del){
  if( REALDBM(f)->iVersion<2 ) return SQLITE_OK;
  return REALDBM(f)->xShmUnmap(REALDB(f), del);
}
static int walbufDbFetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp){
  if( REALDBM(f)->iVersion<3 ){ *pp = 0; return SQLITE_OK; }
  return REALDBM(f)->xFetch(REALDB(f), o, n, pp);
}
static int walbufDbUnfetch(sqlite3_file *f, sqlite3_int64 o, void *z){
  if( REALDBM(f)->iVersion<3 ) return SQLITE_OK;
  return REALDBM(f)->xUnfetch(REALDB(f), o, z);
}

static const sqlite3_io_methods walbufDbMethods = {
  3,
  walbufDbClose, walbufDbRead, walbufDbWrite, walbufDbTruncate, walbufDbSync, walbufDbFileSize,
  walbufDbLock, walbufDbUnlock, walbufDbCheckReservedLock, walbufDbFileControl,
  walbufDbSectorSize, walbufDbDeviceCharacteristics,
  walbufDbShmMap, walbufDbShmLock, walbufDbShmBarrier, walbufDbShmUnmap,
  walbufDbFetch, walbufDbUnfetch
};


static int walbufOpen(sqlite3_vfs *vfs, sqlite3_filename zName, sqlite3_file *f, int flags, int *pOutFlags){
  WalBufFile *p = (WalBufFile*)f;
  int rc;
  (void)vfs;
  if( flags & SQLITE_OPEN_MAIN_DB ){
    WalBufDb *d = (WalBufDb*)f;
    memset(d, 0, sizeof(*d));
    d->real = (sqlite3_file*)(((char*)f) + WALBUF_DB_HDR);
    rc = walbufReal->xOpen(walbufReal, zName, d->real, flags, pOutFlags);
    if( d->real->pMethods ){
      d->base.pMethods = &walbufDbMethods;
    }
    return rc;
  }
  if( (flags & SQLITE_OPEN_WAL)==0 ){
    /* Neither: the default VFS's file itself, at the start. */
    return walbufReal->xOpen(walbufReal, zName, f, flags, pOutFlags);
  }
  memset(p, 0, sizeof(*p));
  p->commitPage = -1;
  p->real = (sqlite3_file*)(((char*)f) + WALBUF_HDR);
  rc = walbufReal->xOpen(walbufReal, zName, p->real, flags, pOutFlags);
  if( p->real->pMethods ){
    sqlite3_file *db = sqlite3_database_file_object(zName);
    p->base.pMethods = &walbufMethods;
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
