/* Helpers shared by the benchmark programs; see benchlib.h. */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "client/client.h"
#include "util/util.h"

const char *progname = "bench";

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
int64_t wall_ns(void) { return clock_ns(CLOCK_REALTIME); }

/* ---- /proc ---- */

static int read_small(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t k = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[k] = '\0';
	return 0;
}

static int64_t status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

int proc_sample(int pid, ProcSample *s)
{
	char path[512], buf[4096];
	memset(s, 0, sizeof *s);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof buf) < 0)
		return -1;
	/* Fields after the command's closing parenthesis start at field 3;
	 * utime and stime are fields 14 and 15. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2;
	long long ut = 0, st = 0;
	for (int field = 3; field <= 15 && *p; field++) {
		if (field == 14)
			ut = strtoll(p, NULL, 10);
		if (field == 15)
			st = strtoll(p, NULL, 10);
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	long hz = sysconf(_SC_CLK_TCK);
	s->cpu_ns = (ut + st) * (1000000000 / hz);

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof buf) == 0) {
		s->rss_kb = status_field(buf, "VmRSS:");
		s->hwm_kb = status_field(buf, "VmHWM:");
	}
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", pid, e->d_name);
		if (read_small(path, buf, sizeof buf) == 0) {
			long long run = 0, wait = 0, cnt = 0;
			if (sscanf(buf, "%lld %lld %lld", &run, &wait, &cnt) == 3) {
				s->run_ns += run;
				s->slices += cnt;
			}
		}
		snprintf(path, sizeof path, "/proc/%d/task/%s/status", pid, e->d_name);
		if (read_small(path, buf, sizeof buf) == 0) {
			s->vcsw += status_field(buf, "\nvoluntary_ctxt_switches:");
			s->ivcsw += status_field(buf, "nonvoluntary_ctxt_switches:");
		}
	}
	closedir(d);
	return 0;
}

/* ---- histogram ---- */

void hist_add(Hist *h, int64_t ns)
{
	int64_t us = ns / 1000;
	h->b[us < HIST_US ? us : HIST_US]++;
	h->n++;
	h->sum_ns += (double)ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void hist_merge(Hist *into, const Hist *h)
{
	for (size_t i = 0; i <= HIST_US; i++)
		into->b[i] += h->b[i];
	into->n += h->n;
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

double hist_quantile_us(const Hist *h, double q)
{
	if (h->n == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	uint64_t seen = 0;
	for (size_t i = 0; i <= HIST_US; i++) {
		seen += h->b[i];
		if (seen > want)
			return i < HIST_US ? (double)(i + 1) : (double)h->max_ns / 1000;
	}
	return (double)h->max_ns / 1000;
}

/* ---- raw 9P2000.L ---- */

/* One request is outstanding, so whatever arrives belongs to its reply. */
static long recv_frame(Wire *w)
{
	size_t have = 0, want = 4;
	while (have < want) {
		ssize_t k = recv(w->fd, w->buf + have, w->cap - have, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		have += (size_t)k;
		if (want == 4 && have >= 4) {
			want = (size_t)w->buf[0] | (size_t)w->buf[1] << 8 | (size_t)w->buf[2] << 16 |
			       (size_t)w->buf[3] << 24;
			if (want < P9_HDRSZ || want > w->cap)
				return -EPROTO;
		}
	}
	return have == want ? (long)have : -EPROTO;
}

long wire_rpc(Wire *w, const uint8_t *t, size_t tlen, uint8_t want)
{
	int rc = net_send_all(w->fd, t, tlen);
	if (rc < 0)
		return rc;
	long len = recv_frame(w);
	if (len < 0)
		return len;
	uint8_t type = w->buf[4];
	if (type == want)
		return len;
	if (type == Rlerror && len >= 11) {
		uint32_t e = (uint32_t)w->buf[7] | (uint32_t)w->buf[8] << 8 |
		             (uint32_t)w->buf[9] << 16 | (uint32_t)w->buf[10] << 24;
		return e ? -(long)e : -EIO;
	}
	return -EPROTO;
}

long wire_call(Wire *w, Fcall *f, uint8_t want, Fcall *r)
{
	f->tag = f->type == Tversion ? P9_NOTAG : 1;
	size_t n = p9_pack(w->tbuf, w->msize, P9_2000L, f);
	if (n == 0)
		return -E2BIG;
	long len = wire_rpc(w, w->tbuf, n, want);
	if (len > 0 && r && p9_unpack(w->buf, (size_t)len, P9_2000L, r) < 0)
		return -EPROTO;
	return len;
}

int wire_open(Wire *w, const char *addr, uint32_t msize, const char *aname, char *why, size_t n)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	int rc = client_dial(addr, &w->fd, why, n);
	if (rc < 0)
		return rc;
	int one = 1;
	setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* fails harmlessly on unix */
	/* No reply within a minute is a failure, not a hang. */
	struct timeval tv = { 60, 0 };
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	w->msize = msize;
	w->cap = msize + 64;
	w->buf = malloc(w->cap);
	w->tbuf = malloc(w->cap);
	if (!w->buf || !w->tbuf)
		die("out of memory");
	Fcall f = { .type = Tversion, .msize = msize, .version = p9_str(p9_dialect_name(P9_2000L)) }, r;
	long len = wire_call(w, &f, Rversion, &r);
	if (len < 0) {
		snprintf(why, n, "Tversion: %s", strerror((int)-len));
		return (int)len;
	}
	if (p9_dialect_parse(r.version) != P9_2000L) {
		snprintf(why, n, "server does not speak 9P2000.L");
		return -EPROTONOSUPPORT;
	}
	if (r.msize < w->msize)
		w->msize = r.msize;
	f = (Fcall){ .type = Tattach, .fid = 0, .afid = P9_NOFID, .uname = p9_str("root"),
	             .aname = p9_str(aname), .n_uname = 0 };
	len = wire_call(w, &f, Rattach, NULL);
	if (len < 0) {
		snprintf(why, n, "Tattach: %s", strerror((int)-len));
		return (int)len;
	}
	return 0;
}

void wire_close(Wire *w)
{
	if (w->fd >= 0) {
		uint8_t t[16];
		size_t n = pack_clunk(t, sizeof t, 0);   /* the root fid */
		if (w->buf)
			wire_rpc(w, t, n, Rclunk);
		close(w->fd);
	}
	free(w->buf);
	free(w->tbuf);
	w->fd = -1;
	w->buf = w->tbuf = NULL;
}

size_t pack_walk(uint8_t *buf, size_t cap, uint32_t fid, uint32_t newfid, const char *path)
{
	Fcall f = { .type = Twalk, .tag = 1, .fid = fid, .newfid = newfid };
	const char *p = path;
	while (*p && f.nwname < P9_MAXWELEM) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		f.wname[f.nwname++] = (P9str){ p, (uint16_t)len };
		p += len;
	}
	return p9_pack(buf, cap, P9_2000L, &f);
}

size_t pack_lopen(uint8_t *buf, size_t cap, uint32_t fid, uint32_t flags)
{
	Fcall f = { .type = Tlopen, .tag = 1, .fid = fid, .flags = flags };
	return p9_pack(buf, cap, P9_2000L, &f);
}

size_t pack_read(uint8_t *buf, size_t cap, uint32_t fid, uint64_t off, uint32_t count)
{
	Fcall f = { .type = Tread, .tag = 1, .fid = fid, .offset = off, .count = count };
	return p9_pack(buf, cap, P9_2000L, &f);
}

size_t pack_write(uint8_t *buf, size_t cap, uint32_t fid, const void *data, uint32_t count)
{
	Fcall f = { .type = Twrite, .tag = 1, .fid = fid, .offset = 0, .count = count,
	            .data = data };
	return p9_pack(buf, cap, P9_2000L, &f);
}

size_t pack_clunk(uint8_t *buf, size_t cap, uint32_t fid)
{
	Fcall f = { .type = Tclunk, .tag = 1, .fid = fid };
	return p9_pack(buf, cap, P9_2000L, &f);
}

enum { TMPFID = 77 };

long wire_read_file(Wire *w, const char *path, char **out)
{
	uint8_t t[4096];
	size_t n = pack_walk(t, sizeof t, 0, TMPFID, path);
	long rc = wire_rpc(w, t, n, Rwalk);
	if (rc < 0)
		return rc;
	/* A partial walk is an Rwalk with fewer qids: the path does not exist. */
	Fcall r;
	if (p9_unpack(w->buf, (size_t)rc, P9_2000L, &r) < 0)
		return -EPROTO;
	Fcall tw;
	p9_unpack(t, n, P9_2000L, &tw);
	if (r.nwqid != tw.nwname)
		return -ENOENT;
	n = pack_lopen(t, sizeof t, TMPFID, L_RDONLY);
	if ((rc = wire_rpc(w, t, n, Rlopen)) < 0) {
		n = pack_clunk(t, sizeof t, TMPFID);
		wire_rpc(w, t, n, Rclunk);
		return rc;
	}
	size_t len = 0, cap = 4096;
	char *data = malloc(cap);
	uint32_t chunk = w->msize - P9_IOHDRSZ;
	for (;;) {
		n = pack_read(t, sizeof t, TMPFID, len, chunk);
		if ((rc = wire_rpc(w, t, n, Rread)) < 0)
			break;
		uint32_t cnt = (uint32_t)w->buf[7] | (uint32_t)w->buf[8] << 8 |
		               (uint32_t)w->buf[9] << 16 | (uint32_t)w->buf[10] << 24;
		if (cnt == 0)
			break;
		if (len + cnt + 1 > cap) {
			while (len + cnt + 1 > cap)
				cap *= 2;
			data = realloc(data, cap);
		}
		memcpy(data + len, w->buf + 11, cnt);
		len += cnt;
	}
	n = pack_clunk(t, sizeof t, TMPFID);
	wire_rpc(w, t, n, Rclunk);
	if (rc < 0) {
		free(data);
		return rc;
	}
	data[len] = '\0';
	*out = data;
	return (long)len;
}

int wire_write_file(Wire *w, const char *path, const char *data, size_t len)
{
	uint8_t t[4096];
	size_t n = pack_walk(t, sizeof t, 0, TMPFID, path);
	long rc = wire_rpc(w, t, n, Rwalk);
	if (rc < 0)
		return (int)rc;
	Fcall r, tw;
	p9_unpack(w->buf, (size_t)rc, P9_2000L, &r);
	p9_unpack(t, n, P9_2000L, &tw);
	if (r.nwqid != tw.nwname)
		return -ENOENT;
	n = pack_lopen(t, sizeof t, TMPFID, L_WRONLY);
	if ((rc = wire_rpc(w, t, n, Rlopen)) >= 0) {
		uint8_t *wb = malloc(len + 64);
		n = pack_write(wb, len + 64, TMPFID, data, (uint32_t)len);
		rc = wire_rpc(w, wb, n, Rwrite);
		free(wb);
	}
	n = pack_clunk(t, sizeof t, TMPFID);
	wire_rpc(w, t, n, Rclunk);
	return rc < 0 ? (int)rc : 0;
}
