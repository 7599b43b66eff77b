/* The state directory's checks (secdir.h).
 *
 * Why the parents matter: SQLite opens the database, and later its -wal and
 * -shm files, by name. Whoever can write a directory on the way to the state
 * directory can rename it away and put one of their own in its place between
 * two of those opens, so the files jobd trusts are only as safe as the least
 * protected directory above them. Hence the rule OpenSSH applies to
 * ~/.ssh/authorized_keys (StrictModes), with one allowance: a directory
 * with the sticky bit (/tmp) lets only an entry's owner rename it. Each
 * parent must be owned by root or by jobd's user, and not writable by group
 * or others unless sticky. The walk is one lstat(2) per path component, once,
 * at start; a component that is not a directory (a link swapped in after
 * realpath) is refused. */
#include "util/secdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

/* "alice (uid 1001)", or "uid 1001" for a uid without a passwd entry. */
static const char *who(uint32_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	if (pw != NULL)
		return strfmt(buf, n, "%s (uid %u)", pw->pw_name, (unsigned)uid);
	return strfmt(buf, n, "uid %u", (unsigned)uid);
}

static const char *group(uint32_t gid, char *buf, size_t n)
{
	struct group *gr = getgrgid((gid_t)gid);
	if (gr != NULL)
		return strfmt(buf, n, "%s (gid %u)", gr->gr_name, (unsigned)gid);
	return strfmt(buf, n, "gid %u", (unsigned)gid);
}

/* Refuses path if the link is what is there. */
static int refuse_link(const char *path, const char *what, char *why, size_t n)
{
	char target[PATH_MAX];
	ssize_t k = readlink(path, target, sizeof target - 1);
	target[k > 0 ? k : 0] = '\0';
	strfmt(why, n, "%s is a symbolic link (to %s); jobd does not follow links in its state "
	    "directory, since whoever can change one chooses what jobd reads: %s",
	    path, k > 0 ? target : "?", what);
	return -ELOOP;
}

static int refuse_owner(const char *path, int isdir, uint32_t owner, uint32_t uid,
                        char *why, size_t n)
{
	char o[160], u[160];
	who(owner, o, sizeof o);
	who(uid, u, sizeof u);
	if (isdir)
		strfmt(why, n, "%s is owned by %s, not by %s, the user jobd runs as; jobd will not "
		    "trust a directory another user can change (jobs run as their owners, as root "
		    "when jobd is root): check what is in it and chown it to %s, or use another "
		    "directory", path, o, u, u);
	else
		strfmt(why, n, "%s is owned by %s, not by %s, the user jobd runs as; jobd will not "
		    "trust a file another user may have written (jobs run as their owners, as root "
		    "when jobd is root): move it aside, or if it is jobd's own, check it and chown "
		    "it to %s", path, o, u, u);
	return -EPERM;
}

/* Each directory above canon, from its parent up to /. */
static int check_parents(const char *canon, const char *dir, uint32_t uid, char *why, size_t n)
{
	char *p = xstrdup(canon);
	int r = 0;
	for (;;) {
		char *slash = strrchr(p, '/');
		if (slash == NULL || (slash == p && p[1] == '\0'))
			break;                      /* "/" was the last one checked */
		if (slash == p)
			slash[1] = '\0';            /* the parent is / itself */
		else
			*slash = '\0';
		/* lstat: canon has no links, so a link here was put in since, by
		 * someone who can write above it (stat would see its target instead). */
		struct stat sb;
		if (lstat(p, &sb) < 0) {
			r = -errno;
			strfmt(why, n, "cannot check %s, above %s: %s", p, dir, strerror(-r));
			break;
		}
		if (!S_ISDIR(sb.st_mode)) {
			strfmt(why, n, "%s, above %s, changed while jobd checked it (it is no longer a "
			    "directory): someone is moving directories above jobd's state", p, dir);
			r = -EAGAIN;
			break;
		}
		char o[160], u[160], g[160];
		unsigned mode = (unsigned)(sb.st_mode & 07777);
		if (sb.st_uid != 0 && sb.st_uid != uid) {
			strfmt(why, n, "%s is below %s, which belongs to %s: that user could put a "
			    "directory of their own in its place, and jobd would run the jobs in it; "
			    "use a directory whose parents only root and %s can change",
			    dir, p, who(sb.st_uid, o, sizeof o), who(uid, u, sizeof u));
			r = -EPERM;
			break;
		}
		if ((sb.st_mode & (S_IWGRP | S_IWOTH)) && !(sb.st_mode & S_ISVTX)) {
			strfmt(why, n, "%s is below %s, which %s may write (mode %04o, no sticky bit): "
			    "they could put a directory of their own in its place, and jobd would run "
			    "the jobs in it; chmod go-w %s (or +t), or use another directory",
			    dir, p, sb.st_mode & S_IWOTH ? "every user" : group(sb.st_gid, g, sizeof g),
			    mode, p);
			r = -EPERM;
			break;
		}
	}
	free(p);
	return r;
}

/* The first entry of the directory fd whose name starts with none of own,
 * copied to name; 1 if there is one, 0 if not, -errno. One pass over the
 * directory, made only when its mode is to change. */
static int stranger(int fd, const char *const *own, char *name, size_t n)
{
	int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup < 0 ? NULL : fdopendir(dup);
	if (d == NULL) {
		int e = errno;
		if (dup >= 0)
			close(dup);
		return -e;
	}
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		found = 1;
		for (const char *const *p = own; *p && found; p++)
			found = strncmp(e->d_name, *p, strlen(*p)) != 0;
		if (found)
			strfmt(name, n, "%s", e->d_name);
	}
	closedir(d);
	return found;
}

int secdir_open(const char *dir, uint32_t uid, const char *const *own, char **canon,
                char *why, size_t n)
{
	if (canon != NULL)
		*canon = NULL;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat lsb;
		if (lstat(dir, &lsb) == 0 && S_ISLNK(lsb.st_mode))
			return refuse_link(dir, "give jobd the directory itself, after checking who "
			                   "owns it", why, n);
		if (e == ENOTDIR)
			strfmt(why, n, "%s exists and is not a directory", dir);
		else
			strfmt(why, n, "cannot open %s: %s", dir, strerror(e));
		return -e;
	}
	struct stat sb;
	int r = 0;
	char *real = NULL;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		strfmt(why, n, "cannot stat %s: %s", dir, strerror(-r));
		goto bad;
	}
	if (sb.st_uid != uid) {
		r = refuse_owner(dir, 1, sb.st_uid, uid, why, n);
		goto bad;
	}
	/* The path without links must name the directory just opened; its
	 * parents, checked below, then keep it so. */
	struct stat rsb;
	real = realpath(dir, NULL);
	if (real == NULL || stat(real, &rsb) < 0 || rsb.st_dev != sb.st_dev ||
	    rsb.st_ino != sb.st_ino) {
		r = real == NULL ? -errno : -EAGAIN;
		strfmt(why, n, "%s changed while jobd checked it%s%s", dir, r == -EAGAIN ? "" : ": ",
		    r == -EAGAIN ? "" : strerror(-r));
		goto bad;
	}
	if ((r = check_parents(real, dir, uid, why, n)) < 0)
		goto bad;
	if (faccessat(fd, ".", W_OK | X_OK, 0) < 0) {
		r = -errno;
		strfmt(why, n, "%s is not writable by this user: %s", dir, strerror(-r));
		goto bad;
	}
	unsigned mode = (unsigned)(sb.st_mode & 07777);
	if (mode != 0700) {
		char name[256];
		if ((r = stranger(fd, own, name, sizeof name)) != 0) {
			if (r > 0)
				strfmt(why, n, "%s is mode %04o, and jobd makes its state directory 0700, "
				    "but it holds '%s', which is not jobd's: if it is meant to be jobd's "
				    "directory, check it and chmod 700 it, else use a directory of "
				    "jobd's own", dir, mode, name);
			else
				strfmt(why, n, "cannot read %s: %s", dir, strerror(-r));
			r = r > 0 ? -ENOTEMPTY : r;
			goto bad;
		}
		if (fchmod(fd, 0700) < 0) {
			r = -errno;
			strfmt(why, n, "cannot set the mode of %s to 0700 (it is %04o: other users may "
			    "read or change jobd's files): %s", dir, mode, strerror(-r));
			goto bad;
		}
		/* Group or others may have put files there while it was open to them:
		 * jobd's own files are each checked before they are opened. */
		LOGW("%s was mode %04o; set it to 0700: only jobd's user may use it", dir, mode);
	}
	if (canon != NULL)
		*canon = real;
	else
		free(real);
	return fd;

bad:
	free(real);
	close(fd);
	return r;
}

/* A file found in the state directory: another user's is refused; *tighten
 * says whether group or others have bits to clear. */
static int check_stat(const struct stat *sb, const char *path, uint32_t uid, int *tighten,
                      char *why, size_t n)
{
	if (sb->st_uid != uid)
		return refuse_owner(path, 0, sb->st_uid, uid, why, n);
	/* A second name for one of jobd's files would let whoever made it (when
	 * the directory was open to others) have jobd chmod or truncate a file of
	 * theirs choosing; and anything but a regular file could block an open. */
	if (!S_ISREG(sb->st_mode)) {
		strfmt(why, n, "%s is not a regular file; jobd will not use it: move it aside", path);
		return -EINVAL;
	}
	if (sb->st_nlink != 1) {
		strfmt(why, n, "%s has %ju names (hard links); jobd will not use a file that is also "
		    "elsewhere: move it aside", path, (uintmax_t)sb->st_nlink);
		return -EMLINK;
	}
	*tighten = S_ISREG(sb->st_mode) && (sb->st_mode & 077) != 0;
	return 0;
}

/* After a chmod of path (mode: what it was) to its owner's bits: the refusal
 * if it failed (err), else a warning that it was wider. */
static int tightened(int err, const char *path, mode_t mode, char *why, size_t n)
{
	if (err) {
		strfmt(why, n, "cannot set the mode of %s to %04o: %s", path, (unsigned)(mode & 0600),
		       strerror(err));
		return -err;
	}
	LOGW("%s was mode %04o; set it to %04o", path, (unsigned)(mode & 07777),
	     (unsigned)(mode & 0600));
	return 0;
}

int secdir_file(int dfd, const char *dir, const char *name, uint32_t uid, char *why, size_t n)
{
	char path[PATH_MAX];
	strfmt(path, sizeof path, "%s/%s", dir, name);
	struct stat sb;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		strfmt(why, n, "cannot check %s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISLNK(sb.st_mode)) {
		char target[PATH_MAX];
		ssize_t k = readlinkat(dfd, name, target, sizeof target - 1);
		target[k > 0 ? k : 0] = '\0';
		strfmt(why, n, "%s is a symbolic link (to %s); jobd does not follow links in its state "
		    "directory, since whoever can change one chooses what jobd reads and writes: "
		    "remove the link (its target is left as it is)", path, k > 0 ? target : "?");
		return -ELOOP;
	}
	if (!S_ISREG(sb.st_mode)) {
		strfmt(why, n, "cannot open %s: it is %s, not a regular file; move it aside", path,
		    S_ISDIR(sb.st_mode) ? "a directory" : "a special file");
		return S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
	}
	int tighten, r = check_stat(&sb, path, uid, &tighten, why, n);
	if (r < 0 || !tighten)
		return r;
	/* No link can replace it between the fstatat and here: only jobd's user
	 * (and root) may change the directory, secdir_open saw to that. */
	return tightened(fchmodat(dfd, name, sb.st_mode & 0600, 0) < 0 ? errno : 0, path,
	                 sb.st_mode, why, n);
}

int secdir_fd(int fd, const char *path, uint32_t uid, char *why, size_t n)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = errno;
		strfmt(why, n, "cannot stat %s: %s", path, strerror(e));
		return -e;
	}
	int tighten, r = check_stat(&sb, path, uid, &tighten, why, n);
	if (r < 0 || !tighten)
		return r;
	return tightened(fchmod(fd, sb.st_mode & 0600) < 0 ? errno : 0, path, sb.st_mode, why, n);
}
