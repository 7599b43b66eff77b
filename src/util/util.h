/* Small shared helpers: allocation that exits on failure, a growable byte
 * buffer, the two clocks (wall and monotonic) kept as distinct types so they
 * cannot be mixed up, and addresses and writes for stream sockets. */
#ifndef JOBD_UTIL_H
#define JOBD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- xalloc.c ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* The number of elements of an array (not a pointer). */
#define nelem(a) (sizeof(a) / sizeof((a)[0]))
char *xstrndup(const char *s, size_t n);
/* snprintf that always NUL-terminates and never overflows; returns `out`. */
char *strfmt(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable byte buffer; data is always NUL-terminated for convenience. */
typedef struct Buf {
	char *data;
	size_t len, cap;
} Buf;
void buf_add(Buf *b, const void *p, size_t n);
void buf_addstr(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(Buf *b);

/* ---- clock.c ---- */
/* Wall-clock time: unix nanoseconds. Monotonic time lives in its own struct so
 * a deadline cannot be compared with a timestamp by accident. */
typedef struct Mono {
	int64_t ns;
} Mono;
int64_t wall_now_ns(void);
Mono mono_now(void);

/* ---- net.c ---- */
/* An address as jobd -fsaddr, jobctl -a and jobd -metrics take it. */
typedef struct NetAddr {
	int is_unix;
	char host[108];             /* unix: the socket path; TCP: the host, [] removed (may be "") */
	int port;                   /* TCP: 0-65535 */
} NetAddr;
/* Splits "tcp!host!port", "host:port", "[v6]:port", "unix!path" or a path
 * (anything else holding a slash). The host is not looked up. 0, or -EINVAL
 * (-ENAMETOOLONG for a socket path) with why. */
int net_addr_parse(const char *addr, NetAddr *a, char *why, size_t n);
/* Writes all of buf to a stream socket (or a pipe): 0 or -errno, -EPIPE if
 * the peer has gone. Never raises SIGPIPE on a socket. */
int net_send_all(int fd, const void *buf, size_t len);

#endif
