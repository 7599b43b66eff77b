/* What a run could reach, judged in jobd without becoming the run's user:
 * the owner's groups, and whether a directory can be the run's working
 * directory. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_int.h"
#include "util/util.h"

int run_user_groups(const char *user, uint32_t gid, gid_t **out, size_t *count, char *why,
                    size_t n)
{
	int ng = 32;
	gid_t *g = xmalloc((size_t)ng * sizeof *g);
	for (int tries = 0; getgrouplist(user, (gid_t)gid, g, &ng) < 0; tries++) {
		if (tries > 8 || ng <= 0 || ng > 65536) {
			free(g);
			strfmt(why, n, "cannot list the groups of user %s", user);
			return -EINVAL;
		}
		g = xrealloc(g, (size_t)ng * sizeof *g);
	}
	*out = g;
	*count = (size_t)ng;
	return 0;
}

/* Who the run would be. */
typedef struct Who {
	uid_t uid;
	gid_t gid;
	gid_t *groups;              /* malloc'ed */
	size_t ngroups;
	char name[96];              /* for messages: "alice (uid 1001)" */
} Who;

/* jobd as it is now: its effective ids and supplementary groups. */
static int who_jobd(Who *w, char *why, size_t n)
{
	int ng = getgroups(0, NULL);
	w->uid = geteuid();
	w->gid = getegid();
	w->groups = xmalloc((size_t)(ng > 0 ? ng : 1) * sizeof *w->groups);
	if (ng < 0 || (ng = getgroups(ng, w->groups)) < 0) {
		int e = errno;
		free(w->groups);
		strfmt(why, n, "dir: cannot list jobd's groups: %s", strerror(e));
		return -e;
	}
	w->ngroups = (size_t)ng;
	strfmt(w->name, sizeof w->name, "jobd's user (uid %u)", (unsigned)w->uid);
	return 0;
}

static int in_groups(const Who *w, gid_t g)
{
	if (g == w->gid)
		return 1;
	for (size_t i = 0; i < w->ngroups; i++)
		if (w->groups[i] == g)
			return 1;
	return 0;
}

/* The kernel's rule for search permission on a directory, ACLs aside: the
 * owner's bits if the run is its owner, else the group's if it is in the
 * group, else the others' (the first class that matches decides, even if a
 * later one would allow). Root may search any directory. */
static int may_search(const Who *w, const struct stat *st)
{
	if (w->uid == 0)
		return 1;
	mode_t bit = st->st_uid == w->uid ? S_IXUSR : in_groups(w, st->st_gid) ? S_IXGRP : S_IXOTH;
	return (st->st_mode & bit) != 0;
}

/* One directory on the way: what is wrong with it for w, in why. dir is the
 * whole setting, named in the message when path is only part of it; where
 * says how path relates to it ("" when it is dir itself). */
static int check_one(const char *dir, const char *path, const char *where, const Who *w,
                     char *why, size_t n)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		if (e == ENOENT && *where)
			strfmt(why, n, "dir: %s does not exist (there is no %s)", dir, path);
		else if (e == ENOENT)
			strfmt(why, n, "dir: %s does not exist", path);
		else
			strfmt(why, n, "dir: cannot look at %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		strfmt(why, n, "dir: %s is not a directory%s", path, where);
		return -ENOTDIR;
	}
	if (!may_search(w, &st)) {
		strfmt(why, n, "dir: %s may not enter %s%s (mode %04o, owner uid %u, group %u)",
		       w->name, path, where, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		       (unsigned)st.st_gid);
		return -EACCES;
	}
	return 0;
}

/* "/", then each directory of path in turn, path itself last. path is dir,
 * or (resolved) where dir's symbolic links lead. */
static int check_path(const char *dir, const char *path, int resolved, const Who *w, char *why,
                      size_t n)
{
	const char *via = resolved ? " (where its symbolic links lead)" : " (on the way to it)";
	char *p = xstrdup(path);
	int rc = check_one(dir, "/", strcmp(dir, "/") ? via : "", w, why, n);
	for (size_t i = 1; rc == 0 && p[i - 1]; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		if (p[i - 1] == '/')
			continue;           /* "//" or a trailing '/': nothing new */
		char c = p[i];
		p[i] = '\0';
		rc = check_one(dir, p, strcmp(dir, p) ? via : "", w, why, n);
		p[i] = c;
	}
	free(p);
	return rc;
}

int run_dir_check(const char *dir, const char *user, uint32_t uid, uint32_t gid, char *why,
                  size_t n)
{
	Who w = { .uid = (uid_t)uid, .gid = (gid_t)gid };
	int rc = user ? run_user_groups(user, gid, &w.groups, &w.ngroups, why, n)
	              : who_jobd(&w, why, n);
	if (rc < 0)
		return rc;
	if (user)
		strfmt(w.name, sizeof w.name, "%.64s (uid %u)", user, (unsigned)uid);
	rc = check_path(dir, dir, 0, &w, why, n);
	if (rc == 0) {
		/* A symbolic link on the way leads elsewhere: that way is checked too. */
		char *real = realpath(dir, NULL);
		if (!real) {
			rc = -errno;
			strfmt(why, n, "dir: cannot resolve %s: %s", dir, strerror(-rc));
		} else {
			if (strcmp(real, dir) != 0)
				rc = check_path(dir, real, 1, &w, why, n);
			free(real);
		}
	}
	free(w.groups);
	return rc;
}
