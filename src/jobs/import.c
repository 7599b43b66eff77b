/* The original jobd's jobs.db: a text file in -dbdir to which its clone file
 * appended each accepted write plus a newline, `name:cronexpr:cmd`. It kept
 * no state, so it loaded every job stopped. Imported once, at start: each
 * line goes through jobs_create (the same checks as a clone write) and the
 * job is owned by the user jobd runs as; then the file is renamed aside and
 * kept as a backup.
 *
 * Crash safety: the rename is the commit. A crash before it means the next
 * start reads the file again; a job that already exists with the same
 * definition is then taken as imported by the interrupted attempt.
 *
 * Trust: the jobs become jobd's user's (root's, if jobd is root), so the file
 * must be that user's own, not a link (O_NOFOLLOW) nor another user's: either
 * is refused, and jobd does not start. Its mode loses group and other bits,
 * as every file in the state directory does (secdir_fd). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs_int.h"
#include "util/log.h"
#include "util/secdir.h"

/* One line: 1 imported, 0 already there, -1 refused (reported). */
static int import_line(Jobs *js, const char *path, long lineno, char *line)
{
	char why[512];
	char *c1 = strchr(line, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c2 == NULL) {
		LOGE("%s:%ld: want name:cronexpr:command, got '%.80s'; line skipped", path, lineno,
		     line);
		return -1;
	}
	*c1 = *c2 = '\0';
	const char *name = line, *sched = c1 + 1, *cmd = c2 + 1;
	Job *old = jobs_lookup(js, name, strlen(name));
	if (old != NULL && strcmp(old->schedule, sched) == 0 && strcmp(old->cmd, cmd) == 0)
		return 0;
	int rc = jobs_create(js, js->cfg.daemon_uid, name, sched, cmd, NULL, why, sizeof why);
	if (rc < 0) {
		LOGE("%s:%ld: %s; line skipped", path, lineno, why);
		return -1;
	}
	if (rc > 0)
		LOGW("%s:%ld: job %s imported, but %s", path, lineno, name, why);
	return 1;
}

/* dir/jobs.db.imported-YYYYMMDDTHHMMSSZ, or with -N if that is taken. */
static char *backup_name(const char *dir)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	size_t len = strlen(dir) + 64;
	char *p = xmalloc(len);
	struct stat sb;
	snprintf(p, len, "%s/jobs.db.imported-%s", dir, stamp);
	for (int i = 1; lstat(p, &sb) == 0 && i < 1000; i++)
		snprintf(p, len, "%s/jobs.db.imported-%s-%d", dir, stamp, i);
	return p;
}

int jobs_import_legacy(Jobs *js, const char *dbdir, char *why, size_t n)
{
	size_t plen = strlen(dbdir) + sizeof "/jobs.db";
	char *path = xmalloc(plen);
	snprintf(path, plen, "%s/jobs.db", dbdir);
	/* O_NONBLOCK: a FIFO planted under the name must not hang the start;
	 * secdir_fd refuses anything but a regular file, which ignores the flag. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(path);
		if (e == ENOENT)
			return 0;
		if (e == ELOOP)
			strfmt(why, n, "the original jobd's %s/jobs.db is a symbolic link; jobd does not "
			       "follow links in its state directory (whoever can change one chooses the "
			       "jobs jobd imports): put the file itself there, or remove the link",
			       dbdir);
		else
			strfmt(why, n, "cannot read the original jobd's %s/jobs.db: %s; make it readable "
			       "or move it aside", dbdir, strerror(e));
		return -e;
	}
	int r = secdir_fd(fd, path, js->cfg.daemon_uid, why, n);
	FILE *f = r < 0 ? NULL : fdopen(fd, "r");
	if (f == NULL) {
		if (r == 0) {
			r = -errno;
			strfmt(why, n, "cannot read %s: %s", path, strerror(-r));
		}
		close(fd);
		free(path);
		return r;
	}
	char head[16] = "";
	if (fread(head, 1, sizeof head, f) == sizeof head &&
	    memcmp(head, "SQLite format 3", 16) == 0) {
		fclose(f);
		LOGW("%s is an SQLite database, not the original jobd's text file; not importing it",
		     path);
		free(path);
		return 0;
	}
	rewind(f);

	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int created = 0, present = 0, bad = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strspn(line, " \t") == (size_t)len)
			continue;       /* blank: the original wrote one after a write ending in \n */
		if ((size_t)len != strlen(line)) {
			LOGE("%s:%ld: NUL byte in line; line skipped", path, lineno);
			bad++;
			continue;
		}
		int r = import_line(js, path, lineno, line);
		if (r > 0)
			created++;
		else if (r == 0)
			present++;
		else
			bad++;
	}
	int rerr = ferror(f) ? errno : 0;
	free(line);
	fclose(f);
	if (rerr) {
		strfmt(why, n, "reading the original jobd's %s: %s (imported %d jobs so far; the "
		       "file is left in place)", path, strerror(rerr), created);
		free(path);
		return -rerr;
	}

	char *backup = backup_name(dbdir);
	if (rename(path, backup) < 0) {
		/* Not fatal: the next start reads it again and finds the jobs there. */
		LOGE("imported %s but cannot rename it to %s: %s", path, backup, strerror(errno));
	} else {
		int dfd = open(dbdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		LOGI("imported %d jobs (stopped) from the original jobd's %s (%d lines were jobs "
		     "already there, %d lines skipped); the file is kept as %s", created, path,
		     present, bad, backup);
	}
	free(backup);
	free(path);
	return created;
}
