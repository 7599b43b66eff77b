/* Who a run's owner is, as the run becomes them (jobd is root): the passwd
 * entry, and the groups initgroups(3) would give.
 *
 * Looked up afresh for every run, these were about a tenth of jobd's work
 * per fire: NSS opens, reads and parses /etc/passwd and /etc/group, stats
 * nsswitch.conf and asks every module it names, each time. So an owner's are
 * kept and used again while both of these hold:
 *   - /etc/passwd, /etc/group and /etc/nsswitch.conf are the files they were
 *     (device, inode, size, modification and change times: a stat each, at
 *     most once a millisecond), so that an owner removed or changed there
 *     (userdel, usermod, vipw: all replace or rewrite the file) is seen at
 *     their next run, as when nothing was kept. The runs of one millisecond
 *     (a burst of fires, all in one loop turn) share one look at the files:
 *     three stat calls per run were a fortieth of jobd's work per fire, and
 *     a change comes no sooner than the kernel's own file times can tell;
 *   - the entry is younger than OWNER_TTL_MS: what other NSS sources say
 *     (systemd's user records, LDAP through sssd, ...) is at most that much
 *     older than a fresh lookup would be (sssd and nscd keep their own
 *     answers for minutes).
 * At most OWNER_MAX owners are kept; the oldest makes room. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run_int.h"
#include "util/util.h"

enum { OWNER_MAX = 64, OWNER_TTL_MS = 1000 };

typedef struct Kept {
	RunOwner o;
	char *strings;              /* name, home and shell, one allocation */
	gid_t *groups;
	int64_t at_ms;              /* monotonic ms of the lookup */
} Kept;

/* What a file was: enough to tell that it changed. */
typedef struct FileId {
	int ok;                     /* stat succeeded */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
} FileId;

static const char *const files[] = { "/etc/passwd", "/etc/group", "/etc/nsswitch.conf" };
enum { NFILES = sizeof files / sizeof files[0] };

static Kept kept[OWNER_MAX];
static size_t nkept;
static FileId seen[NFILES];
static int64_t checked_ms = -1;     /* monotonic ms of the last check_files */

static int64_t now_ms(void)
{
	return mono_now().ns / 1000000;
}

static void drop(Kept *k)
{
	free(k->strings);
	free(k->groups);
	memset(k, 0, sizeof *k);
}

static void drop_all(void)
{
	for (size_t i = 0; i < nkept; i++)
		drop(&kept[i]);
	nkept = 0;
}

static int same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Stats the files; if any is not what it was, nothing kept is used again. */
static void check_files(void)
{
	int changed = 0;
	for (int i = 0; i < NFILES; i++) {
		struct stat st;
		FileId f = { 0 };
		if (stat(files[i], &st) == 0)
			f = (FileId){ 1, st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim };
		if (f.ok != seen[i].ok || f.dev != seen[i].dev || f.ino != seen[i].ino ||
		    f.size != seen[i].size || !same_time(f.mtim, seen[i].mtim) ||
		    !same_time(f.ctim, seen[i].ctim))
			changed = 1;
		seen[i] = f;
	}
	if (changed)
		drop_all();
}

static int look_up(uint32_t uid, Kept *k, char *why, size_t n)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	if (!pw) {
		strfmt(why, n, "owner uid %u no longer exists", uid);
		return -ESRCH;
	}
	const char *home = pw->pw_dir ? pw->pw_dir : "", *shell = pw->pw_shell ? pw->pw_shell : "";
	size_t ln = strlen(pw->pw_name) + 1, lh = strlen(home) + 1, ls = strlen(shell) + 1;
	k->strings = xmalloc(ln + lh + ls);
	memcpy(k->strings, pw->pw_name, ln);
	memcpy(k->strings + ln, home, lh);
	memcpy(k->strings + ln + lh, shell, ls);
	k->o.uid = (uint32_t)pw->pw_uid;
	k->o.gid = (uint32_t)pw->pw_gid;
	k->o.name = k->strings;
	k->o.home = k->strings + ln;
	k->o.shell = k->strings + ln + lh;
	int rc = run_user_groups(k->o.name, k->o.gid, &k->groups, &k->o.ngroups, why, n);
	if (rc < 0) {
		drop(k);
		return rc;
	}
	k->o.groups = k->groups;
	k->at_ms = now_ms();
	return 0;
}

int run_owner(uint32_t uid, const RunOwner **out, char *why, size_t n)
{
	int64_t now = now_ms();
	if (now != checked_ms) {
		check_files();
		checked_ms = now;
	}
	size_t i, oldest = 0;
	for (i = 0; i < nkept; i++) {
		if (kept[i].o.uid == uid)
			break;
		if (kept[i].at_ms < kept[oldest].at_ms)
			oldest = i;
	}
	if (i < nkept && now - kept[i].at_ms < OWNER_TTL_MS) {
		*out = &kept[i].o;
		return 0;
	}
	if (i == nkept && nkept == OWNER_MAX)
		i = oldest;
	Kept k = { 0 };
	int rc = look_up(uid, &k, why, n);
	if (i < nkept)
		drop(&kept[i]);             /* stale, or making room */
	if (rc < 0) {
		if (i < nkept)
			kept[i] = kept[--nkept];
		return rc;
	}
	if (i == nkept)
		nkept++;
	kept[i] = k;
	*out = &kept[i].o;
	return 0;
}

void run_owner_forget(void)
{
	drop_all();
	memset(seen, 0, sizeof seen);
	checked_ms = -1;
}
