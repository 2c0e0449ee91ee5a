/* An LD_PRELOAD shim that makes the disk fill up: once more than $ENOSPC_AFTER_BYTES bytes have been
 * written (in total, by this process) to files whose path contains $ENOSPC_PATH_SUBSTR, writes to
 * those files fail with ENOSPC. The write that crosses the limit is cut short at the limit, as on a
 * real full disk, so callers that ignore short writes are caught too.
 *
 *   ENOSPC_AFTER_BYTES=4096 ENOSPC_PATH_SUBSTR=out.csv LD_PRELOAD=libenospc_shim.so rebalance ...
 *
 * Optional: ENOSPC_FAIL_FSYNC=1 makes fsync/fdatasync of such files fail with ENOSPC, and
 * ENOSPC_FAIL_CLOSE=1 makes their close fail with ENOSPC (after closing, as NFS reports a
 * deferred write error), both independently of the byte limit. Files are tracked from open,
 * open64, openat, openat64, creat, creat64, fopen and fopen64 (write access only) until close or
 * fclose; write, writev, pwrite, pwrite64, pwritev and fwrite are limited. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 65536

static atomic_char tracked[MAX_FDS];
static atomic_llong written;
static long long limit = -1; /* < 0: no byte limit */
static const char* substr = "";
static int fail_fsync, fail_close;

#define REAL(name, ret, ...)                                          \
  static ret (*real_##name)(__VA_ARGS__);                             \
  static void load_##name(void) {                                     \
    if (!real_##name) *(void**)(&real_##name) = dlsym(RTLD_NEXT, #name); \
  }

REAL(open, int, const char*, int, ...)
REAL(open64, int, const char*, int, ...)
REAL(openat, int, int, const char*, int, ...)
REAL(openat64, int, int, const char*, int, ...)
REAL(creat, int, const char*, mode_t)
REAL(creat64, int, const char*, mode_t)
REAL(fopen, FILE*, const char*, const char*)
REAL(fopen64, FILE*, const char*, const char*)
REAL(close, int, int)
REAL(fclose, int, FILE*)
REAL(write, ssize_t, int, const void*, size_t)
REAL(writev, ssize_t, int, const struct iovec*, int)
REAL(pwrite, ssize_t, int, const void*, size_t, off_t)
REAL(pwrite64, ssize_t, int, const void*, size_t, off64_t)
REAL(pwritev, ssize_t, int, const struct iovec*, int, off_t)
REAL(fwrite, size_t, const void*, size_t, size_t, FILE*)
REAL(fsync, int, int)
REAL(fdatasync, int, int)

__attribute__((constructor)) static void init(void) {
  const char* n = getenv("ENOSPC_AFTER_BYTES");
  if (n && *n) limit = atoll(n);
  const char* s = getenv("ENOSPC_PATH_SUBSTR");
  if (s) substr = s;
  fail_fsync = getenv("ENOSPC_FAIL_FSYNC") && atoi(getenv("ENOSPC_FAIL_FSYNC"));
  fail_close = getenv("ENOSPC_FAIL_CLOSE") && atoi(getenv("ENOSPC_FAIL_CLOSE"));
}

static int is_tracked(int fd) { return fd >= 0 && fd < MAX_FDS && atomic_load(&tracked[fd]); }

static void track(int fd, const char* path, int writable) {
  if (fd < 0 || fd >= MAX_FDS) return;
  atomic_store(&tracked[fd], (char)(writable && path && strstr(path, substr) != NULL));
}

static int writable_flags(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }
static int writable_mode(const char* mode) { return mode && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+')); }

/* How many of `n` bytes a write to `fd` may write: n, fewer at the limit, or -1 (ENOSPC). */
static long long allowance(int fd, size_t n) {
  if (!is_tracked(fd) || limit < 0) return (long long)n;
  const long long before = atomic_fetch_add(&written, (long long)n);
  if (before + (long long)n <= limit) return (long long)n;
  const long long room = limit - before;
  atomic_fetch_sub(&written, (long long)n - (room > 0 ? room : 0));
  if (room > 0) return room;
  errno = ENOSPC;
  return -1;
}

/* The iovec cut to `keep` bytes, in `out` (at most IOV_MAX entries). */
static int cut_iov(const struct iovec* iov, int cnt, long long keep, struct iovec* out) {
  int k = 0;
  for (int i = 0; i < cnt && keep > 0; ++i) {
    out[k] = iov[i];
    if ((long long)out[k].iov_len > keep) out[k].iov_len = (size_t)keep;
    keep -= (long long)out[k].iov_len;
    ++k;
  }
  return k;
}

static size_t iov_total(const struct iovec* iov, int cnt) {
  size_t n = 0;
  for (int i = 0; i < cnt; ++i) n += iov[i].iov_len;
  return n;
}

#define OPEN_MODE(flags)                                  \
  mode_t mode = 0;                                        \
  if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { \
    va_list ap;                                           \
    va_start(ap, flags);                                  \
    mode = (mode_t)va_arg(ap, int);                       \
    va_end(ap);                                           \
  }

int open(const char* path, int flags, ...) {
  OPEN_MODE(flags)
  load_open();
  const int fd = real_open(path, flags, mode);
  track(fd, path, writable_flags(flags));
  return fd;
}

int open64(const char* path, int flags, ...) {
  OPEN_MODE(flags)
  load_open64();
  const int fd = real_open64(path, flags, mode);
  track(fd, path, writable_flags(flags));
  return fd;
}

int openat(int dir, const char* path, int flags, ...) {
  OPEN_MODE(flags)
  load_openat();
  const int fd = real_openat(dir, path, flags, mode);
  track(fd, path, writable_flags(flags));
  return fd;
}

int openat64(int dir, const char* path, int flags, ...) {
  OPEN_MODE(flags)
  load_openat64();
  const int fd = real_openat64(dir, path, flags, mode);
  track(fd, path, writable_flags(flags));
  return fd;
}

int creat(const char* path, mode_t mode) {
  load_creat();
  const int fd = real_creat(path, mode);
  track(fd, path, 1);
  return fd;
}

int creat64(const char* path, mode_t mode) {
  load_creat64();
  const int fd = real_creat64(path, mode);
  track(fd, path, 1);
  return fd;
}

FILE* fopen(const char* path, const char* mode) {
  load_fopen();
  FILE* f = real_fopen(path, mode);
  if (f) track(fileno(f), path, writable_mode(mode));
  return f;
}

FILE* fopen64(const char* path, const char* mode) {
  load_fopen64();
  FILE* f = real_fopen64(path, mode);
  if (f) track(fileno(f), path, writable_mode(mode));
  return f;
}

int close(int fd) {
  load_close();
  const int was = is_tracked(fd);
  if (fd >= 0 && fd < MAX_FDS) atomic_store(&tracked[fd], 0);
  const int r = real_close(fd);
  if (r == 0 && was && fail_close) {
    errno = ENOSPC;
    return -1;
  }
  return r;
}

int fclose(FILE* f) {
  load_fclose();
  const int fd = fileno(f);
  const int was = is_tracked(fd);
  const int r = real_fclose(f);  /* flushes through write(), which is limited */
  if (fd >= 0 && fd < MAX_FDS) atomic_store(&tracked[fd], 0);
  if (r == 0 && was && fail_close) {
    errno = ENOSPC;
    return EOF;
  }
  return r;
}

ssize_t write(int fd, const void* buf, size_t n) {
  load_write();
  const long long ok = allowance(fd, n);
  if (ok < 0) return -1;
  return real_write(fd, buf, (size_t)ok);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  load_pwrite();
  const long long ok = allowance(fd, n);
  if (ok < 0) return -1;
  return real_pwrite(fd, buf, (size_t)ok, off);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t off) {
  load_pwrite64();
  const long long ok = allowance(fd, n);
  if (ok < 0) return -1;
  return real_pwrite64(fd, buf, (size_t)ok, off);
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  load_writev();
  const size_t n = iov_total(iov, cnt);
  const long long ok = allowance(fd, n);
  if (ok < 0) return -1;
  if ((size_t)ok == n) return real_writev(fd, iov, cnt);
  struct iovec cut[1024];
  return real_writev(fd, cut, cut_iov(iov, cnt < 1024 ? cnt : 1024, ok, cut));
}

ssize_t pwritev(int fd, const struct iovec* iov, int cnt, off_t off) {
  load_pwritev();
  const size_t n = iov_total(iov, cnt);
  const long long ok = allowance(fd, n);
  if (ok < 0) return -1;
  if ((size_t)ok == n) return real_pwritev(fd, iov, cnt, off);
  struct iovec cut[1024];
  return real_pwritev(fd, cut, cut_iov(iov, cnt < 1024 ? cnt : 1024, ok, cut), off);
}

/* glibc's stdio writes through its internal write, which LD_PRELOAD cannot reach: limit fwrite
 * itself (whole items, as a short fwrite reports). */
size_t fwrite(const void* buf, size_t size, size_t count, FILE* f) {
  load_fwrite();
  const int fd = fileno(f);
  if (!is_tracked(fd) || size == 0) return real_fwrite(buf, size, count, f);
  const long long ok = allowance(fd, size * count);
  if (ok < 0) return 0;
  const size_t items = (size_t)ok / size;
  const size_t done = real_fwrite(buf, size, items, f);
  if (items < count) errno = ENOSPC;
  return done;
}

int fsync(int fd) {
  load_fsync();
  if (fail_fsync && is_tracked(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real_fsync(fd);
}

int fdatasync(int fd) {
  load_fdatasync();
  if (fail_fsync && is_tracked(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return real_fdatasync(fd);
}
