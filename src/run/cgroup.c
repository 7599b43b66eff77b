/* Run cgroups (cgroup v2). jobd keeps a directory of its own, jobd.<pid>, in
 * the directory -cgroup names (auto: jobd's own cgroup), and in it one cgroup
 * per run, run.<n>, which the run's child joins before exec. Everything the
 * run starts is born in it and cannot leave it, whatever it does with
 * sessions and process groups (only root could move itself out), so kill,
 * timeout, delete and shutdown reach it all, and the cgroup tells when the
 * last of it has exited.
 *
 * The "no internal processes" rule (a cgroup with processes of its own cannot
 * hand domain controllers such as memory or cpu to its children): jobd stays
 * in the cgroup it was started in and puts processes only in the leaves
 * run.<n>; jobd.<pid> holds none and no controller is enabled anywhere, so
 * the rule is never in the way. (Per-run resource controllers would need
 * jobd.<pid>'s parent free of processes: jobd would first have to move
 * itself into a leaf of its own.)
 *
 * Whose directory is whose: each jobd holds an flock on its jobd.<pid> for as
 * long as it lives. A sibling jobd.<pid> that is not locked and whose pid
 * names no process was left by a jobd that died: at start what is still in
 * it is killed (cgroup.kill) and it is removed. That is the crash recovery
 * that reaches everything a run started. It comes after recover.c's, which
 * gives the members of each interrupted run's session SIGTERM and the grace
 * period first, as a clean shutdown would, and cannot see what left them.
 *
 * Signals: SIGKILL goes through cgroup.kill (Linux 5.14), which the kernel
 * makes atomic against forks. Any other signal goes to each pid listed in
 * cgroup.procs; as such a pid may exit and be reused before it is signalled,
 * each is opened as a pidfd first and signalled only if /proc then still
 * shows it in the cgroup (the pidfd names that very process; without pidfds
 * a small window stays between the check and the kill). O(processes in
 * the cgroup), a few syscalls each; a process forked during the scan may miss
 * a SIGTERM. The SIGKILL after the grace period cannot miss it where the
 * kernel has cgroup.kill; before 5.14 the scan is repeated while it finds
 * processes, up to 8 passes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run_int.h"
#include "util/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

enum {
	CG_DEPTH = 16,              /* cgroups a root job made below its own: how deep we look */
	CG_STALE_WAIT_MS = 1000,    /* at start, for a dead jobd's killed processes to go */
	CG_POOL = 4096,             /* empty run cgroups kept for later runs, at most */
	CG_POOL_IDLE_MS = 60000,    /* how long one is kept unused */
};

static struct {
	int parent;                 /* the directory jobd.<pid> is in */
	int base;                   /* jobd.<pid>, locked while we live; -1: no cgroups */
	char name[32];              /* "jobd.<pid>" */
	char abs[512];              /* its path */
	char rel[512];              /* its path as /proc/PID/cgroup shows it */
	char prel[512];             /* the parent's, likewise */
	unsigned next;              /* the number of the last run cgroup made */
	/* Empty run cgroups kept for later runs (see "the pool"), oldest first,
	 * each with its descriptors if it holds them. */
	struct PoolEntry {
		unsigned id;
		int64_t at_ms;          /* monotonic ms when its last run let it go */
		int dfd, efd;           /* as in RunCgroup */
	} *pool;
	size_t npool, cappool;
	size_t live;                /* run cgroups held by runs (cgroup_new, not yet let go) */
	size_t fds, fd_budget;      /* descriptors held for run cgroups, and at most */
} cg = { .parent = -1, .base = -1 };

static void fds_drop(int *dfd, int *efd);

int cgroup_on(void)
{
	return cg.base >= 0;
}

/* ---- locating the hierarchy (pure) ---- */

/* dir + sub, where sub is "" or starts with '/': no doubled or trailing slash. */
static int join(char *out, size_t n, const char *dir, const char *sub)
{
	size_t dl = strlen(dir);
	if (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (!strcmp(sub, "/"))
		sub = "";
	int k = dl == 1 && dir[0] == '/' && *sub ? snprintf(out, n, "%s", sub)
	                                         : snprintf(out, n, "%.*s%s", (int)dl, dir, sub);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

/* The next cgroup2 mount in mountinfo from *pos: its root and mount point. */
static int next_cgroup2(const char **pos, char *root, size_t rn, char *mnt, size_t mn)
{
	while (**pos) {
		const char *line = *pos, *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		*pos = line + len + (nl != NULL);
		char buf[4096];
		if (len >= sizeof buf)
			continue;
		memcpy(buf, line, len);
		buf[len] = '\0';
		/* id parent major:minor root mountpoint options [optional...] - type source super */
		char *f[6], *save = NULL, *t = strtok_r(buf, " ", &save);
		int nf = 0;
		while (t && nf < 6) {
			f[nf++] = t;
			t = strtok_r(NULL, " ", &save);
		}
		while (t && strcmp(t, "-") != 0)
			t = strtok_r(NULL, " ", &save);
		if (nf < 5 || !t || !(t = strtok_r(NULL, " ", &save)) || strcmp(t, "cgroup2") != 0)
			continue;
		unescape(f[3]);
		unescape(f[4]);
		if (strlen(f[3]) >= rn || strlen(f[4]) >= mn)
			continue;
		strcpy(root, f[3]);
		strcpy(mnt, f[4]);
		return 1;
	}
	return 0;
}

/* Is path at or below dir? */
static int below(const char *path, const char *dir)
{
	size_t dl = strlen(dir);
	if (dl > 0 && dir[dl - 1] == '/')
		dl--;
	return strncmp(path, dir, dl) == 0 && (path[dl] == '\0' || path[dl] == '/');
}

int cgroup_locate_own(const char *mountinfo, const char *cgroup, char *abs, size_t an,
                      char *rel, size_t rn)
{
	/* "0::/path": the v2 line (hierarchy 0, no controllers named). */
	const char *p = cgroup;
	while (p && strncmp(p, "0::", 3) != 0)
		p = (p = strchr(p, '\n')) ? p + 1 : NULL;
	if (!p)
		return -ENOENT;
	p += 3;
	size_t len = strcspn(p, "\n");
	if (len == 0 || *p != '/' || len >= rn)
		return len >= rn ? -ENAMETOOLONG : -ENOENT;
	memcpy(rel, p, len);
	rel[len] = '\0';
	char root[1024], mnt[1024];
	for (const char *pos = mountinfo; next_cgroup2(&pos, root, sizeof root, mnt, sizeof mnt);) {
		if (!below(rel, root))
			continue;
		size_t rl = strlen(root);
		return join(abs, an, mnt, rl == 1 ? rel : rel + rl);
	}
	return -ENOENT;
}

int cgroup_locate_dir(const char *mountinfo, const char *abs, char *rel, size_t rn)
{
	char root[1024], mnt[1024], best_root[1024] = "";
	size_t best = 0;
	int found = 0;
	for (const char *pos = mountinfo; next_cgroup2(&pos, root, sizeof root, mnt, sizeof mnt);) {
		size_t ml = strlen(mnt);
		if (!below(abs, mnt) || (found && ml <= best))
			continue;
		found = 1;
		best = ml;
		strcpy(best_root, root);
	}
	if (!found)
		return -ENOENT;
	return join(rel, rn, best_root, best == 1 ? abs : abs + best);
}

/* ---- reading and signalling ---- */

/* The whole of a small file (NUL-terminated), malloc'ed; NULL with errno. */
static char *slurp(int at, const char *name, size_t max)
{
	int fd = openat(at, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t len = 0, cap = 4096;
	char *b = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			if (cap >= max) {
				free(b);
				close(fd);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			b = xrealloc(b, cap);
		}
		ssize_t k = read(fd, b + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(b);
			close(fd);
			errno = e;
			return NULL;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	b[len] = '\0';
	return b;
}

/* Is process pid in the cgroup that /proc shows as rel? */
static int in_cgroup(long pid, const char *rel)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
	char *s = slurp(AT_FDCWD, path, 1 << 16);
	if (!s)
		return 0;
	int yes = 0;
	for (char *p = s; p; p = (p = strchr(p, '\n')) ? p + 1 : NULL)
		if (strncmp(p, "0::", 3) == 0) {
			size_t len = strcspn(p + 3, "\n");
			yes = len == strlen(rel) && strncmp(p + 3, rel, len) == 0;
			break;
		}
	free(s);
	return yes;
}

/* Sends sig (0: only counts) to every process in the cgroup fd, whose path
 * /proc shows as rel, and in the cgroups below it. Returns how many. */
static int signal_tree(int fd, const char *rel, int sig, int depth)
{
	int count = 0, pfd = openat(fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	FILE *f = pfd >= 0 ? fdopen(pfd, "r") : NULL;
	if (f) {
		long pid;
		while (fscanf(f, "%ld", &pid) == 1) {
			if (!run_pidfds()) {
				/* Without pidfds the window between the check and the
				 * kill is all there is (as in proc.c). */
				count += in_cgroup(pid, rel) && kill((pid_t)pid, sig) == 0;
				continue;
			}
			int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
			if (pidfd < 0)
				continue;       /* gone already */
			if (in_cgroup(pid, rel) && syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
				count++;
			close(pidfd);
		}
		fclose(f);
	} else if (pfd >= 0) {
		close(pfd);
	}
	int dfd = depth < CG_DEPTH ? openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return count;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char sub[300], subrel[1024];
		snprintf(sub, sizeof sub, "/%s", e->d_name);
		if (e->d_type != DT_DIR || e->d_name[0] == '.' || join(subrel, sizeof subrel, rel, sub) < 0)
			continue;
		int subfd = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (subfd >= 0) {
			count += signal_tree(subfd, subrel, sig, depth + 1);
			close(subfd);
		}
	}
	closedir(d);
	return count;
}

/* SIGKILL to everything in the cgroup fd and below: cgroup.kill, or one by one
 * on kernels without it. */
static void kill_tree(int fd, const char *rel)
{
	int k = openat(fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
	if (k >= 0) {
		ssize_t w = write(k, "1", 1);
		close(k);
		if (w == 1)
			return;
	}
	/* Without it a process forked during a pass escapes that pass: pass
	 * again while there is something to kill (bounded: a fork bomb outrunning
	 * 8 passes is left to the next kill, or to the end of jobd). */
	for (int pass = 0; pass < 8 && signal_tree(fd, rel, SIGKILL, 0) > 0; pass++)
		;
}

/* 1 if the cgroup fd (or one below it) has a process, 0 if not, -errno;
 * *frozen (if not NULL) whether it is frozen. cgroup.events is two short
 * lines: one read. */
static int events_read(int efd, int *frozen)
{
	char buf[256];
	ssize_t k;
	do
		k = pread(efd, buf, sizeof buf - 1, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	buf[k] = '\0';
	char *p = strstr(buf, "populated "), *f = strstr(buf, "frozen ");
	if (frozen)
		*frozen = f && f[7] == '1';
	return p ? p[10] == '1' : -EINVAL;
}

static int populated_frozen(int at, const char *dir, int *frozen)
{
	char path[600];
	snprintf(path, sizeof path, "%s/cgroup.events", dir);
	int efd = openat(at, path, O_RDONLY | O_CLOEXEC);
	if (efd < 0)
		return -errno;
	int rc = events_read(efd, frozen);
	close(efd);
	return rc;
}

static int populated(int fd)
{
	return populated_frozen(fd, ".", NULL);
}

/* Removes the cgroup name in at and any (empty) cgroups below it. */
static int remove_tree(int at, const char *name, int depth)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = depth < CG_DEPTH ? fdopendir(fd) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (e->d_type == DT_DIR && e->d_name[0] != '.')
				remove_tree(dirfd(d), e->d_name, depth + 1);
		closedir(d);
	} else {
		close(fd);
	}
	return unlinkat(at, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Waits, at most ms, until the cgroup fd is empty: blocking, for start-up
 * only, woken by cgroup.events changes (inotify). Returns populated(). */
static int wait_empty(int fd, int ms)
{
	int p = populated(fd);
	if (p <= 0)
		return p;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d/cgroup.events", fd);
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0)
		return p;
	Mono end = mono_now();
	end.ns += (int64_t)ms * 1000000;
	if (inotify_add_watch(in, path, IN_MODIFY) >= 0) {
		while ((p = populated(fd)) > 0) {
			int64_t left = (end.ns - mono_now().ns) / 1000000;
			struct pollfd pf = { in, POLLIN, 0 };
			if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
				break;
			char ev[4096];
			while (read(in, ev, sizeof ev) > 0)
				;
		}
	}
	close(in);
	return p;
}

/* ---- jobd's directory ---- */

/* Is pid a live process named jobd? */
static int pid_is_jobd(long pid)
{
	char path[64], comm[32] = "";
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT && errno != ESRCH;   /* cannot tell: assume so */
	ssize_t k = read(fd, comm, sizeof comm - 1);
	close(fd);
	comm[k > 0 ? k : 0] = '\0';
	return strcmp(comm, "jobd\n") == 0;
}

/* jobd.<our pid> exists already: a jobd that died had our pid. Unless some
 * live jobd holds it (its lock), what is in it is killed and it goes. */
static int clear_namesake(const char *rel)
{
	int fd = openat(cg.parent, cg.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	char sub[40], r2[1024];
	snprintf(sub, sizeof sub, "/%s", cg.name);
	if (join(r2, sizeof r2, rel, sub) == 0 && signal_tree(fd, r2, 0, 0) > 0) {
		kill_tree(fd, r2);
		wait_empty(fd, CG_STALE_WAIT_MS);
	}
	int rc = remove_tree(cg.parent, cg.name, 0);
	close(fd);
	return rc;
}

int cgroup_clear_stale(RunTracking *t)
{
	if (cg.base < 0)
		return 0;
	int dfd = openat(cg.parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *num = e->d_name + 5;
		if (strncmp(e->d_name, "jobd.", 5) != 0 || !*num || strspn(num, "0123456789") != strlen(num))
			continue;
		long pid = strtol(num, NULL, 10);
		int fd = openat(cg.parent, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Locked: a live jobd's. Unlocked but its pid a live jobd: one that
		 * has not locked it yet; left alone. A pid now used by some other
		 * program (pids are reused, and fixed in containers) is no owner. */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || (pid != getpid() && pid_is_jobd(pid))) {
			close(fd);
			continue;
		}
		char sub[300], rel[1024];
		snprintf(sub, sizeof sub, "/%s", e->d_name);
		if (join(rel, sizeof rel, cg.prel, sub) == 0) {
			int k = signal_tree(fd, rel, 0, 0);
			if (k > 0) {
				kill_tree(fd, rel);
				wait_empty(fd, CG_STALE_WAIT_MS);
			}
			t->stale_procs += k;
		}
		if (remove_tree(cg.parent, e->d_name, 0) == 0)
			t->stale_dirs++;
		close(fd);
	}
	closedir(d);
	return t->stale_dirs;
}

/* Makes and locks jobd.<pid> in dir (whose path /proc shows as rel). */
static int setup(const char *dir, const char *rel, RunTracking *t, char *why, size_t n)
{
	int rc;
	if ((cg.parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		strfmt(why, n, "cgroup %s: %s", dir, strerror(-rc));
		return rc;
	}
	char sub[40];
	snprintf(cg.name, sizeof cg.name, "jobd.%ld", (long)getpid());
	snprintf(sub, sizeof sub, "/%s", cg.name);
	if (join(cg.abs, sizeof cg.abs, dir, sub) < 0 || join(cg.rel, sizeof cg.rel, rel, sub) < 0 ||
	    join(cg.prel, sizeof cg.prel, rel, "") < 0) {
		rc = -ENAMETOOLONG;
		strfmt(why, n, "cgroup %s: path too long", dir);
		goto fail;
	}
	rc = mkdirat(cg.parent, cg.name, 0755) < 0 ? -errno : 0;
	if (rc == -EEXIST && clear_namesake(rel) == 0)
		rc = mkdirat(cg.parent, cg.name, 0755) < 0 ? -errno : 0;
	if (rc < 0) {
		strfmt(why, n, "cannot make cgroup %s: %s", cg.abs, strerror(-rc));
		goto fail;
	}
	if ((cg.base = openat(cg.parent, cg.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(cg.base, LOCK_EX | LOCK_NB) < 0 ||
	    faccessat(cg.base, "cgroup.procs", W_OK, AT_EACCESS) < 0) {
		rc = -errno;
		strfmt(why, n, "cgroup %s: %s", cg.abs, strerror(-rc));
		if (cg.base >= 0)
			close(cg.base);
		cg.base = -1;
		unlinkat(cg.parent, cg.name, AT_REMOVEDIR);
		goto fail;
	}
	strfmt(t->cgroup, sizeof t->cgroup, "%s", cg.abs);
	struct rlimit rl;
	cg.fd_budget = getrlimit(RLIMIT_NOFILE, &rl) < 0 ? 0
	             : rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 4 > 2 * CG_POOL + 8192
	             ? 2 * CG_POOL + 8192 : (size_t)rl.rlim_cur / 4;
	return 0;
fail:
	close(cg.parent);
	cg.parent = -1;
	return rc;
}

int cgroup_init(const char *spec, RunTracking *t, char *why, size_t n)
{
	if (!strcmp(spec, "none"))
		return 0;
	int autom = !strcmp(spec, "auto"), rc;
	char abs[PATH_MAX], rel[1024];
	char *mi = slurp(AT_FDCWD, "/proc/self/mountinfo", 1 << 24);
	if (autom) {
		char *own = slurp(AT_FDCWD, "/proc/self/cgroup", 1 << 16);
		rc = mi && own ? cgroup_locate_own(mi, own, abs, sizeof abs, rel, sizeof rel) : -ENOENT;
		free(own);
		free(mi);
		if (rc < 0) {
			strfmt(t->none_why, sizeof t->none_why,
			       "jobd's cgroup is in no cgroup v2 hierarchy mounted here");
			return 0;
		}
	} else {
		struct statfs sf;
		if (!realpath(spec, abs) || statfs(abs, &sf) < 0) {
			rc = -errno;
			strfmt(why, n, "%s: %s", spec, strerror(-rc));
		} else if (sf.f_type != CGROUP2_SUPER_MAGIC) {
			rc = -EINVAL;
			strfmt(why, n, "%s is not on a cgroup v2 file system", spec);
		} else if ((rc = mi ? cgroup_locate_dir(mi, abs, rel, sizeof rel) : -ENOENT) < 0) {
			strfmt(why, n, "%s: no cgroup2 mount in /proc/self/mountinfo holds it", spec);
		}
		free(mi);
		if (rc < 0)
			return rc;
	}
	char ewhy[256];
	rc = setup(abs, rel, t, ewhy, sizeof ewhy);
	if (rc < 0 && autom) {
		strfmt(t->none_why, sizeof t->none_why, "%s", ewhy);
		return 0;
	}
	if (rc < 0) {
		strfmt(why, n, "%s", ewhy);
		return rc;
	}
	return 1;
}

int cgroup_fini(char *why, size_t n)
{
	if (cg.base < 0)
		return 0;
	for (size_t i = 0; i < cg.npool; i++)
		fds_drop(&cg.pool[i].dfd, &cg.pool[i].efd);
	cg.npool = cg.cappool = 0;      /* the pool's cgroups are removed with the others below */
	free(cg.pool);
	cg.pool = NULL;
	/* Each run's cgroup went with it; any left is in use (abandoned). */
	int busy = 0, dfd = openat(cg.base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (e->d_type == DT_DIR && e->d_name[0] != '.')
				busy += remove_tree(cg.base, e->d_name, 0) < 0;
		closedir(d);
	} else if (dfd >= 0) {
		close(dfd);
	}
	int rc = unlinkat(cg.parent, cg.name, AT_REMOVEDIR) < 0 ? -errno : 0;
	if (rc < 0)
		strfmt(why, n, "cannot remove cgroup %s (%d run cgroups still in use; the next jobd "
		       "here kills what is in them): %s", cg.abs, busy, strerror(-rc));
	close(cg.base);
	close(cg.parent);
	cg.base = cg.parent = -1;
	return rc;
}

/* ---- one run's cgroup ---- */

static void run_rel(const RunCgroup *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s/run.%u", cg.rel, c->id);
}

/* ---- the pool ----
 *
 * Making a run's cgroup and removing it are among the dearest steps of a run
 * (the kernel makes and unmakes a directory of interface files: about 10 us
 * each on a small VM, and the removal leaves RCU work behind). So a cgroup
 * whose run has ended, that is empty, has no cgroup below it and is not
 * frozen is kept for a later run instead of removed: up to CG_POOL of them,
 * each for at most CG_POOL_IDLE_MS unused (cgroup_pool_trim). The pool holds
 * what a peak of runs in progress left, so that the next peak makes none:
 * with 1024, each second of a few thousand runs made and removed the rest
 * (a fifth of jobd's work per fire). An empty cgroup costs the kernel about
 * 9 KB (a 2-CPU VM, 6.18): 36 MB at most, for a minute after such a peak,
 * which held as much while it lasted. Nothing joins
 * an empty cgroup but through its cgroup.procs, which only root may write;
 * whether it is empty is what cgroup.events says, as for removal. A root job
 * can change its cgroup's own settings (cgroup.max.descendants, ...), which a
 * later run then meets; a root job can do as much to jobd's own cgroup. */

static int64_t now_ms(void)
{
	return mono_now().ns / 1000000;
}

/* A run cgroup's directory and cgroup.events, held open from when it is
 * made (or first used) until it is removed, within a budget: a run then
 * costs no open of the cgroup (its directory is what clone3 takes) and no
 * open of cgroup.events at its end (read again with pread, which a cgroup
 * file answers afresh at offset 0). Opening and closing those two kernfs
 * files was an eighth of the loop's work per run where jobs fire faster
 * than they start. The budget is a quarter of the descriptors jobd may
 * open (RLIMIT_NOFILE's soft limit at start): the rest is for runs' pipes
 * and clients; cgroups past it are reached by name, as before. */
static void fds_hold(unsigned id, int *dfd, int *efd)
{
	char name[32];
	*dfd = *efd = -1;
	if (cg.fds + 2 > cg.fd_budget)
		return;
	snprintf(name, sizeof name, "run.%u", id);
	if ((*dfd = openat(cg.base, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((*efd = openat(*dfd, "cgroup.events", O_RDONLY | O_CLOEXEC)) < 0) {
		close(*dfd);
		*dfd = -1;
		return;
	}
	cg.fds += 2;
}

static void fds_drop(int *dfd, int *efd)
{
	if (*dfd >= 0) {
		close(*dfd);
		close(*efd);
		cg.fds -= 2;
	}
	*dfd = *efd = -1;
}

/* Removes the (empty) cgroup run.<id>. 0, or -errno. */
static int remove_id(unsigned id)
{
	char name[32];
	snprintf(name, sizeof name, "run.%u", id);
	return remove_tree(cg.base, name, 0);
}

/* Keeps the empty cgroup run.<id> (with its descriptors, if held) for a
 * later run, as the newest. */
static void pool_put(unsigned id, int dfd, int efd)
{
	if (cg.npool == cg.cappool) {
		cg.cappool = cg.cappool ? 2 * cg.cappool : 64;
		cg.pool = xrealloc(cg.pool, cg.cappool * sizeof *cg.pool);
	}
	cg.pool[cg.npool] = (struct PoolEntry){ id, now_ms(), dfd, efd };
	cg.npool++;
}

/* Made ahead: a burst's cgroups are made before its instant, in the wait
 * (run.c, run_expect), not as its children start, where each mkdir (30 to
 * 40 us of kernel work) came between one start and the next. */
size_t cgroup_pool_fill(size_t want, size_t max)
{
	if (cg.base < 0)
		return 0;
	/* Those held by runs come back to the pool as their runs end: counted,
	 * and the whole kept within the pool's bound, so that the pool has room
	 * for them (a full pool removes what comes back, and a fill made it
	 * again: a mkdir and an rmdir per run where jobs fire faster than they
	 * can start). */
	if (want > CG_POOL)
		want = CG_POOL;
	while (cg.npool + cg.live < want && max-- > 0) {
		char name[32];
		snprintf(name, sizeof name, "run.%u", cg.next + 1);
		if (mkdirat(cg.base, name, 0755) < 0)
			return 0;           /* the runs will make theirs, and say why not */
		int dfd, efd;
		fds_hold(++cg.next, &dfd, &efd);
		pool_put(cg.next, dfd, efd);
	}
	return cg.npool + cg.live < want ? want - cg.npool - cg.live : 0;
}

int64_t cgroup_pool_trim(void)
{
	int64_t now = now_ms();
	size_t k = 0;
	for (; k < cg.npool && cg.pool[k].at_ms + CG_POOL_IDLE_MS <= now; k++) {
		fds_drop(&cg.pool[k].dfd, &cg.pool[k].efd);
		remove_id(cg.pool[k].id);       /* one in use after all is the next jobd's */
	}
	if (k > 0) {
		memmove(&cg.pool[0], &cg.pool[k], (cg.npool - k) * sizeof cg.pool[0]);
		cg.npool -= k;
	}
	return cg.npool ? cg.pool[0].at_ms + CG_POOL_IDLE_MS - now : -1;
}

/* "run.<id>/<file>" of c (file "" for the directory itself). */
static void run_path(const RunCgroup *c, const char *file, char *buf, size_t n)
{
	snprintf(buf, n, *file ? "run.%u/%s" : "run.%u", c->id, file);
}

/* A run's cgroup is reached through the descriptors it holds, or by its
 * name in jobd's directory (which only jobd changes) where the budget left
 * none. *procs is the caller's own: a copy of the held directory's
 * descriptor (a dup, no open), or cgroup.procs opened. */
static int take(RunCgroup *c, int dir, int *procs)
{
	char path[64];
	if (c->dfd < 0)
		fds_hold(c->id, &c->dfd, &c->efd);
	if (c->dfd >= 0)
		*procs = dir ? fcntl(c->dfd, F_DUPFD_CLOEXEC, 3)
		             : openat(c->dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	else {
		run_path(c, dir ? "" : "cgroup.procs", path, sizeof path);
		*procs = openat(cg.base, path, dir ? O_RDONLY | O_DIRECTORY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
	}
	if (*procs < 0) {
		int rc = -errno;
		fds_drop(&c->dfd, &c->efd);
		return rc;
	}
	c->on = 1;
	cg.live++;
	return 0;
}

int cgroup_new(RunCgroup *c, int dir, int *procs, char *why, size_t n)
{
	char path[64];
	c->frozen = 0;
	c->killed = 0;
	/* The most recently used first: its pages are the likeliest cached. */
	while (cg.npool > 0) {
		struct PoolEntry *e = &cg.pool[--cg.npool];
		c->id = e->id;
		c->dfd = e->dfd;
		c->efd = e->efd;
		if (take(c, dir, procs) == 0)
			return 0;
		remove_id(c->id);
	}
	c->id = ++cg.next;
	c->on = 0;
	c->dfd = c->efd = -1;
	run_path(c, "", path, sizeof path);
	if (mkdirat(cg.base, path, 0755) < 0) {
		int rc = -errno;
		strfmt(why, n, "cannot make cgroup %s/%s: %s", cg.abs, path, strerror(-rc));
		return rc;
	}
	int rc = take(c, dir, procs);
	if (rc < 0) {
		strfmt(why, n, "cgroup %s/%s: %s", cg.abs, path, strerror(-rc));
		remove_id(c->id);
	}
	return rc;
}

int cgroup_signal(RunCgroup *c, int sig)
{
	char rel[640], path[64];
	if (!c->on)
		return -ESRCH;
	run_path(c, "", path, sizeof path);
	int fd = c->dfd >= 0 ? c->dfd : openat(cg.base, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	run_rel(c, rel, sizeof rel);
	if (sig == SIGKILL) {
		kill_tree(fd, rel);
		c->killed = 1;
	}
	else
		signal_tree(fd, rel, sig, 0);
	if (fd != c->dfd)
		close(fd);
	return 0;
}

int cgroup_populated(RunCgroup *c)
{
	char path[64];
	if (!c->on)
		return 0;
	if (c->efd >= 0)
		return events_read(c->efd, &c->frozen);
	run_path(c, "", path, sizeof path);
	return populated_frozen(cg.base, path, &c->frozen);
}

void cgroup_events_path(const RunCgroup *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s/run.%u/cgroup.events", cg.abs, c->id);
}

int cgroup_remove(RunCgroup *c)
{
	char path[64];
	struct stat st;
	if (!c->on)
		return 0;
	/* A cgroup directory's link count is 2 and one per cgroup below it. */
	run_path(c, "", path, sizeof path);
	/* Not one cgroup.kill was written to: a child cloned into such a cgroup
	 * (clone3, CLONE_INTO_CGROUP) is killed at birth by the kernels seen
	 * here (6.18: its kill count is compared with its parent's cgroup's). */
	if (!c->frozen && !c->killed && cg.npool < CG_POOL &&
	    (c->dfd >= 0 ? fstat(c->dfd, &st) : fstatat(cg.base, path, &st, 0)) == 0 &&
	    st.st_nlink == 2) {
		pool_put(c->id, c->dfd, c->efd);
		c->dfd = c->efd = -1;
		c->on = 0;
		cg.live--;
		return 0;
	}
	fds_drop(&c->dfd, &c->efd);
	int rc = remove_id(c->id);
	if (rc == 0) {
		c->on = 0;
		cg.live--;
	}
	return rc;
}

void cgroup_forget(RunCgroup *c)
{
	if (c->on) {
		fds_drop(&c->dfd, &c->efd);
		cg.live--;
	}
	c->on = 0;
}
