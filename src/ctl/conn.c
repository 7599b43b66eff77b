/* jobctl's connection to jobd and the file helpers every command uses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"

static int is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

const char *ctl_default_addr(const char *flag, const char **from)
{
	const char *e = getenv("JOBD_ADDR");
	if (flag && *flag) {
		*from = "-a";
		return flag;
	}
	if (e && *e) {
		*from = "$JOBD_ADDR";
		return e;
	}
	if (is_socket(".jobd/jobd.sock")) {
		*from = "./.jobd/jobd.sock exists";
		return "unix!.jobd/jobd.sock";
	}
	if (is_socket("/run/jobd/jobd.sock")) {
		*from = "/run/jobd/jobd.sock exists";
		return "unix!/run/jobd/jobd.sock";
	}
	*from = "the default";
	return "127.0.0.1:5640";
}

Client *ctl_dial(const char *addr, int *answered, char *why, size_t n)
{
	int fd;
	*answered = 0;
	if (client_dial(addr, &fd, why, n) < 0)
		return NULL;
	*answered = 1;
	/* 9P2000.u: its Rerror carries jobd's text as well as an errno, where
	 * 9P2000.L's Rlerror has only the errno. */
	Client *c = client_new(fd, P9_2000U, 0);
	const char *user = getenv("USER");
	if (client_version(c, why, n) < 0 ||
	    client_attach(c, user ? user : "", (uint32_t)getuid(), "", why, n) < 0) {
		client_free(c);
		return NULL;
	}
	return c;
}

Client *ctl_client(Ctl *x)
{
	char why[512];
	int answered;
	if (x->c)
		return x->c;
	if (!(x->c = ctl_dial(x->addr, &answered, why, sizeof why))) {
		if (!answered)
			fprintf(stderr, "jobctl: cannot connect to %s: %s\n"
			        "hint: is jobd running and listening there (jobd -fsaddr %s)? The address "
			        "came from %s; choose another with -a ADDR or $JOBD_ADDR.\n",
			        x->addr, why, x->addr, x->addr_from);
		else
			fprintf(stderr, "jobctl: cannot connect to %s: %s\n"
			        "hint: something answers there, but not as jobd does; the address came "
			        "from %s.\n", x->addr, why, x->addr_from);
	}
	return x->c;
}

int ctl_refused(const char *who, const char *why)
{
	fprintf(stderr, "jobctl: %s: %s\n", who, why);
	return EX_REFUSED;
}

/* The errnos a broken connection shows as: the client's own (a send or
 * receive failed, the stream lost its framing), never one jobd sends for a
 * request it refused. */
static int connection_lost(int rc)
{
	return rc == -EPIPE || rc == -ECONNRESET || rc == -ECONNABORTED || rc == -ENOTCONN ||
	       rc == -ETIMEDOUT || rc == -EPROTO;
}

int ctl_exit_for(int rc)
{
	if (rc >= 0)
		return EX_OK;
	if (connection_lost(rc))
		return EX_CONNECT;
	if (rc == -ENOENT)
		return EX_NOTFOUND;
	return EX_REFUSED;
}

int ctl_fail(const char *who, int rc, const char *why)
{
	if (connection_lost(rc))
		fprintf(stderr, "jobctl: %s: lost the connection to jobd: %s\n", who, why);
	else
		fprintf(stderr, "jobctl: %s: %s\n", who, why);
	return ctl_exit_for(rc);
}

const char *ctl_job_path(char *out, size_t n, const char *name, const char *file)
{
	if (file)
		return strfmt(out, n, "jobs/%s/%s", name, file);
	return strfmt(out, n, "jobs/%s", name);
}

const char *ctl_run_path(char *out, size_t n, const char *name, long run, const char *file)
{
	return strfmt(out, n, "jobs/%s/runs/%ld/%s", name, run, file);
}

int ctl_job_exists(Ctl *x, const char *name)
{
	char path[256], why[256];
	uint32_t fid;
	if (!name[0] || strchr(name, '/'))
		return 0;
	int rc = client_walk(x->c, ctl_job_path(path, sizeof path, name, NULL), &fid, NULL, why,
	                     sizeof why);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	client_clunk(x->c, fid);
	return 1;
}

int ctl_job_refused(Ctl *x, const char *name, int rc, const char *why)
{
	if (rc == -ENOENT && x->c && ctl_job_exists(x, name) == 0)
		return ctl_fail(name, rc, "no such job");
	return ctl_fail(name, rc, why);
}

int ctl_reply_next(const char **p, CtlReplyLine *l)
{
	const char *s = *p;
	if (!*s)
		return 0;
	size_t len = strcspn(s, "\n");
	*p = s + len + (s[len] == '\n');
	l->kind = CTL_REPLY_OTHER;
	l->text = s;
	l->len = len;
	l->run = 0;
	l->skipped = 0;
	static const char warn[] = "warning: ";
	if (len >= sizeof warn - 1 && !memcmp(s, warn, sizeof warn - 1)) {
		l->kind = CTL_REPLY_WARNING;
		l->text = s + sizeof warn - 1;
		l->len = len - (sizeof warn - 1);
	} else if (len > 4 && !memcmp(s, "run ", 4) && s[4] >= '0' && s[4] <= '9') {
		/* "run 7", or "run 7 skipped" when the overlap setting kept it from
		 * starting. */
		char *end;
		long run = strtol(s + 4, &end, 10);
		int skipped = (size_t)(s + len - end) == 8 && !memcmp(end, " skipped", 8);
		if ((end == s + len || skipped) && run > 0) {
			l->kind = CTL_REPLY_RUN;
			l->run = run;
			l->skipped = skipped;
		}
	}
	return 1;
}

/* Prints a warning once per invocation: a create and a start in one
 * command may both warn that the schedule never fires. */
static void warn_once(Ctl *x, const char *who, const char *text, size_t len)
{
	Buf line = {0};
	buf_printf(&line, "%s: %.*s\n", who, (int)len, text);
	const char *seen = x->warned.data;
	for (const char *p = seen; p && *p; p += strcspn(p, "\n") + 1)
		if (!strncmp(p, line.data, line.len)) {
			buf_free(&line);
			return;
		}
	buf_add(&x->warned, line.data, line.len);
	fprintf(stderr, "jobctl: %s: warning: %.*s\n", who, (int)len, text);
	buf_free(&line);
}

int ctl_command(Ctl *x, const char *who, const char *path, const char *text, CtlReply *r,
                char *why, size_t n)
{
	Buf reply = {0};
	memset(r, 0, sizeof *r);
	int rc = client_write_read(x->c, path, text, strlen(text), &reply, why, n);
	const char *p = reply.data ? reply.data : "";
	CtlReplyLine l;
	while (rc == 0 && ctl_reply_next(&p, &l)) {
		if (l.kind == CTL_REPLY_WARNING) {
			warn_once(x, who, l.text, l.len);
		} else if (l.kind == CTL_REPLY_RUN) {
			r->run = l.run;
			r->skipped = l.skipped;
		}
	}
	buf_free(&reply);
	return rc;
}

char *ctl_read(Ctl *x, const char *path, int *rc, char *why, size_t n)
{
	char *data;
	size_t len;
	*rc = client_read_file(x->c, path, &data, &len, why, n);
	if (*rc < 0)
		return NULL;
	if (memchr(data, 0, len)) {
		/* jobd's files are text; keep the C strings honest anyway. */
		*rc = -EILSEQ;
		strfmt(why, n, "%s: the file holds a NUL byte", path);
		free(data);
		return NULL;
	}
	return data;
}

int ctl_write(Ctl *x, const char *path, const char *data, size_t len, char *why, size_t n)
{
	if (len == 0)
		return client_write_file(x->c, path, "\n", 1, why, n);
	return client_write_file(x->c, path, data, len, why, n);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

int ctl_job_runs(Ctl *x, const char *name, long **runs, size_t *count, char *why, size_t n)
{
	char path[256], **names;
	size_t nn;
	*runs = NULL;
	*count = 0;
	int rc = client_list_dir(x->c, ctl_job_path(path, sizeof path, name, "runs"), &names, &nn,
	                         why, n);
	if (rc < 0)
		return rc;
	long *v = xcalloc(nn ? nn : 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < nn; i++) {
		char *end;
		long r = strtol(names[i], &end, 10);
		if (*end == 0 && end != names[i] && r > 0)
			v[k++] = r;
	}
	client_free_names(names, nn);
	qsort(v, k, sizeof *v, cmp_long);
	*runs = v;
	*count = k;
	return 0;
}

static void got_file(void *arg, size_t i, int rc, const char *data, size_t len, const char *why)
{
	JobFiles *jf = arg;
	if (rc < 0 && !jf->why[0])
		strfmt(jf->why, sizeof jf->why, "%s", why);
	jf->rc[i] = rc;
	jf->text[i] = rc == 0 ? xstrndup(data, len) : NULL;
}

int ctl_read_jobs(Ctl *x, char **names, size_t count, const char *const *files, size_t nfiles,
                  JobFiles *jf, char *why, size_t n)
{
	size_t total = count * nfiles;
	char path[256];
	char **paths = xcalloc(total + 1, sizeof *paths);
	for (size_t j = 0; j < count; j++)
		for (size_t f = 0; f < nfiles; f++)
			paths[j * nfiles + f] = xstrdup(ctl_job_path(path, sizeof path, names[j], files[f]));
	memset(jf, 0, sizeof *jf);
	jf->nfiles = nfiles;
	jf->total = total;
	jf->text = xcalloc(total + 1, sizeof *jf->text);
	jf->rc = xcalloc(total + 1, sizeof *jf->rc);
	int rc = client_read_many(x->c, (const char *const *)paths, total, got_file, jf, why, n);
	for (size_t i = 0; i < total; i++)
		free(paths[i]);
	free(paths);
	return rc;
}

void ctl_jobfiles_free(JobFiles *jf)
{
	for (size_t i = 0; i < jf->total; i++)
		free(jf->text[i]);
	free(jf->text);
	free(jf->rc);
	memset(jf, 0, sizeof *jf);
}
