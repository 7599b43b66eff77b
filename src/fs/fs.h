/* jobd's name space: the only module that knows both 9P and jobs.
 * doc/namespace.md is the contract; fs.c's tables show it on one screen. */
#ifndef JOBD_FS_H
#define JOBD_FS_H

#include "jobs/jobs.h"
#include "srv/srv.h"

typedef struct Fs Fs;

typedef struct FsConfig {
	size_t max_ctl_write;       /* bytes accepted by one write to a control or setting file */
	/* Renders /stats ("key value" lines). */
	void (*stats)(void *arg, Buf *out);
	void *stats_arg;
} FsConfig;

/* ---- fs.c ---- */
Fs *fs_new(Jobs *js, const FsConfig *cfg);
/* The operations to hand to srv_new (aux = the Fs). */
SrvOps fs_ops(Fs *fs);
void fs_free(Fs *fs);

#endif
