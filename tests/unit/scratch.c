/* Scratch directories for unit tests (scratch.h). */
#include "scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char root[64];
static int ndirs;

int scratch_init(const char *prog)
{
	snprintf(root, sizeof root, "/tmp/%s.XXXXXX", prog);
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

const char *scratch_root(void)
{
	return root;
}

char *scratch_path(void)
{
	static char paths[64][96];
	char *p = paths[ndirs % 64];
	snprintf(p, sizeof paths[0], "%s/d%d", root, ndirs);
	ndirs++;
	return p;
}

static int rm1(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void scratch_rmtree(const char *p)
{
	nftw(p, rm1, 16, FTW_DEPTH | FTW_PHYS);
}
