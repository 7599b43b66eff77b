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

Client *ctl_client(Ctl *x)
{
	char why[512];
	int fd;
	if (x->c)
		return x->c;
	if (client_dial(x->addr, &fd, why, sizeof why) < 0) {
		fprintf(stderr, "jobctl: cannot connect to %s: %s\n"
		        "hint: is jobd running and listening there (jobd -fsaddr %s)? The address "
		        "came from %s; choose another with -a ADDR or $JOBD_ADDR.\n",
		        x->addr, why, x->addr, x->addr_from);
		return NULL;
	}
	/* 9P2000.u: its Rerror carries jobd's text as well as an errno, where
	 * 9P2000.L's Rlerror has only the errno. */
	Client *c = client_new(fd, P9_2000U, 0);
	const char *user = getenv("USER");
	if (client_version(c, why, sizeof why) < 0 ||
	    client_attach(c, user ? user : "", (uint32_t)getuid(), "", why, sizeof why) < 0) {
		fprintf(stderr, "jobctl: cannot connect to %s: %s\n"
		        "hint: something answers there, but not as jobd does; the address came "
		        "from %s.\n", x->addr, why, x->addr_from);
		client_free(c);
		return NULL;
	}
	x->c = c;
	return c;
}

int ctl_refused(const char *who, const char *why)
{
	fprintf(stderr, "jobctl: %s: %s\n", who, why);
	return EX_REFUSED;
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
		return ctl_refused(name, "no such job");
	return ctl_refused(name, why);
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
