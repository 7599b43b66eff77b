/* Tests of src/run/cgroup.c's location of cgroup v2 directories from the text
 * of /proc/self/mountinfo and /proc/self/cgroup: pure v2, the hybrid layout,
 * a bind mount of a subtree, escaped mount points, optional fields, and what
 * must not match. */
#include "run/run_int.h"
#include "unit.h"

#include <errno.h>

#define V1 "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
#define HYBRID "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
#define UNIFIED "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n"

static void test_own(void)
{
	char abs[256], rel[256];
	CHECK(cgroup_locate_own(V1 HYBRID, "4:memory:/x\n0::/\n", abs, sizeof abs, rel, sizeof rel) == 0);
	CHECKF(!strcmp(abs, "/sys/fs/cgroup/unified") && !strcmp(rel, "/"), "%s %s", abs, rel);
	CHECK(cgroup_locate_own(UNIFIED, "0::/system.slice/jobd.service\n", abs, sizeof abs, rel,
	                        sizeof rel) == 0);
	CHECKF(!strcmp(abs, "/sys/fs/cgroup/system.slice/jobd.service"), "%s", abs);
	CHECKF(!strcmp(rel, "/system.slice/jobd.service"), "%s", rel);
	/* A bind mount of a subtree: its root names where it starts. */
	const char *bind = "50 30 0:26 /system.slice /mnt/cg rw - cgroup2 cgroup2 rw\n";
	CHECK(cgroup_locate_own(bind, "0::/system.slice/jobd.service", abs, sizeof abs, rel,
	                        sizeof rel) == 0);
	CHECKF(!strcmp(abs, "/mnt/cg/jobd.service"), "%s", abs);
	CHECK(cgroup_locate_own(bind, "0::/user.slice/x\n", abs, sizeof abs, rel, sizeof rel) == -ENOENT);
	CHECK(cgroup_locate_own(bind, "0::/system.slicex/y\n", abs, sizeof abs, rel, sizeof rel) ==
	      -ENOENT);
	/* Mount points with a space are written \040. */
	CHECK(cgroup_locate_own("9 1 0:5 / /my\\040cg rw - cgroup2 none rw\n", "0::/a\n", abs,
	                        sizeof abs, rel, sizeof rel) == 0);
	CHECKF(!strcmp(abs, "/my cg/a"), "%s", abs);
	/* No v2 line, no v2 mount, no room. */
	CHECK(cgroup_locate_own(HYBRID, "4:memory:/x\n", abs, sizeof abs, rel, sizeof rel) == -ENOENT);
	CHECK(cgroup_locate_own(V1, "0::/\n", abs, sizeof abs, rel, sizeof rel) == -ENOENT);
	CHECK(cgroup_locate_own(UNIFIED, "0::/system.slice/jobd.service\n", abs, 16, rel, sizeof rel) ==
	      -ENAMETOOLONG);
	/* A type field that only looks like one, before the separator. */
	CHECK(cgroup_locate_own("9 1 0:5 / /x rw cgroup2 - tmpfs cgroup2 rw\n", "0::/\n", abs,
	                        sizeof abs, rel, sizeof rel) == -ENOENT);
}

static void test_dir(void)
{
	char rel[256];
	CHECK(cgroup_locate_dir(V1 UNIFIED, "/sys/fs/cgroup/jobd", rel, sizeof rel) == 0);
	CHECKF(!strcmp(rel, "/jobd"), "%s", rel);
	CHECK(cgroup_locate_dir(UNIFIED, "/sys/fs/cgroup", rel, sizeof rel) == 0);
	CHECKF(!strcmp(rel, "/"), "%s", rel);
	CHECK(cgroup_locate_dir(UNIFIED, "/sys/fs/cgroupx/jobd", rel, sizeof rel) == -ENOENT);
	CHECK(cgroup_locate_dir(V1, "/sys/fs/cgroup/cpu/jobd", rel, sizeof rel) == -ENOENT);
	/* The longest mount point that holds it wins; its root comes first. */
	const char *two = "30 23 0:26 / /cg rw - cgroup2 cgroup2 rw\n"
	                  "50 30 0:26 /system.slice /cg/inner rw - cgroup2 cgroup2 rw\n";
	CHECK(cgroup_locate_dir(two, "/cg/inner/jobd.service", rel, sizeof rel) == 0);
	CHECKF(!strcmp(rel, "/system.slice/jobd.service"), "%s", rel);
	CHECK(cgroup_locate_dir(two, "/cg/other", rel, sizeof rel) == 0);
	CHECKF(!strcmp(rel, "/other"), "%s", rel);
}

int main(void)
{
	unit_prog = "t_cgroup";
	unit_run("own", test_own);
	unit_run("dir", test_dir);
	return unit_done();
}
