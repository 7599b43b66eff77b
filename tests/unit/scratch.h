/* Scratch directories for a unit test: one directory under /tmp per
 * program, fresh paths inside it, and removal of a tree. */
#ifndef JOBD_TESTS_SCRATCH_H
#define JOBD_TESTS_SCRATCH_H

/* Makes /tmp/PROG.XXXXXX: 0, or -1 (said on stderr). */
int scratch_init(const char *prog);
/* The directory scratch_init made. */
const char *scratch_root(void);
/* A fresh path under it that does not exist yet (good for the next 64 calls). */
char *scratch_path(void);
/* Removes p and everything below it (links not followed). */
void scratch_rmtree(const char *p);

#endif
