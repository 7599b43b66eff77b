/* Shared helpers of the benchmark programs in bench/: clocks, what
 * /proc says of a process, a latency histogram, and a raw synchronous 9P
 * connection that sends pre-packed frames (one request on the wire at a
 * time, no allocation per round trip), so that the client costs the same
 * whichever server it talks to. Bench-only code: errors end the program
 * with a message. */
#ifndef JOBD_BENCHLIB_H
#define JOBD_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>

#include "9p/fcall.h"

/* ---- clocks ---- */
int64_t mono_ns(void);
int64_t wall_ns(void);

/* ---- /proc ---- */

/* What /proc says of one process at one instant. */
typedef struct ProcSample {
	int64_t cpu_ns;          /* utime + stime, all threads, from /proc/PID/stat (tick resolution) */
	int64_t run_ns;          /* sum over the tasks' /proc/PID/task/TID/schedstat: time on CPU (ns resolution) */
	int64_t slices;          /* sum over the tasks of schedstat's run count (times scheduled in) */
	int64_t vcsw, ivcsw;     /* voluntary and involuntary context switches, all tasks */
	int64_t rss_kb, hwm_kb;  /* VmRSS, VmHWM of /proc/PID/status */
} ProcSample;

/* Fills s; -1 if the process is gone. */
int proc_sample(int pid, ProcSample *s);

/* ---- latency histogram: 1 µs buckets up to 100 ms, then one overflow bucket ---- */
enum { HIST_US = 100000 };
typedef struct Hist {
	uint64_t b[HIST_US + 1];
	uint64_t n;
	int64_t max_ns;
	double sum_ns;
} Hist;

void hist_add(Hist *h, int64_t ns);
void hist_merge(Hist *into, const Hist *h);
/* The q-quantile (0..1) in microseconds (bucket upper bound); 0 if empty. */
double hist_quantile_us(const Hist *h, double q);

/* ---- raw 9P2000.L ---- */

typedef struct Wire {
	int fd;
	uint32_t msize;
	uint8_t *buf;            /* the last reply frame */
	size_t cap;
	uint8_t *tbuf;           /* scratch for frames packed on the fly */
} Wire;

/* Dials addr (client_dial's syntax), sets TCP_NODELAY, negotiates 9P2000.L
 * with msize and attaches fid 0 to aname as "root". Returns 0 or -errno with why. */
int wire_open(Wire *w, const char *addr, uint32_t msize, const char *aname, char *why, size_t n);
void wire_close(Wire *w);

/* Sends the frame t[0..tlen) and reads one whole reply into w->buf. Returns
 * the reply's length if its type is want, -ecode for an Rlerror (-EPROTO for
 * anything else). */
long wire_rpc(Wire *w, const uint8_t *t, size_t tlen, uint8_t want);

/* Packs f (tag 1) into w->tbuf and does wire_rpc; r, if not NULL, receives
 * the decoded reply (borrowing w->buf). */
long wire_call(Wire *w, Fcall *f, uint8_t want, Fcall *r);

/* Packs into buf (cap bytes) and returns the length: Twalk of fid to newfid
 * along path ("a/b/c"); Tlopen; Tread; Twrite; Tclunk. Tag 1. */
size_t pack_walk(uint8_t *buf, size_t cap, uint32_t fid, uint32_t newfid, const char *path);
size_t pack_lopen(uint8_t *buf, size_t cap, uint32_t fid, uint32_t flags);
size_t pack_read(uint8_t *buf, size_t cap, uint32_t fid, uint64_t off, uint32_t count);
size_t pack_write(uint8_t *buf, size_t cap, uint32_t fid, const void *data, uint32_t count);
size_t pack_clunk(uint8_t *buf, size_t cap, uint32_t fid);

/* walk + open + read-to-EOF + clunk of path into a malloc'ed NUL-terminated
 * string. Returns the length or -errno. */
long wire_read_file(Wire *w, const char *path, char **out);
/* walk + open(write) + one write + clunk. 0 or -errno. */
int wire_write_file(Wire *w, const char *path, const char *data, size_t len);

/* The 9P2000.L open flags used here (Linux x86 values, fixed by the protocol). */
enum { L_RDONLY = 0, L_WRONLY = 1, L_RDWR = 2 };

/* Prints "prog: message" and exits 1. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
extern const char *progname;

#endif
