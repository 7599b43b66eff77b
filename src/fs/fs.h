/* jobd's name space: the only module that knows both 9P and jobs.
 *
 *   /clone                 write "name:cronexpr:cmd" to create a job
 *   /jobs/                 one directory per job
 *   /jobs/NAME/ctl         write start|stop; read: started|stopped
 *   /jobs/NAME/cmd         the command
 *   /jobs/NAME/schedule    the expression, plus ":<next run>" while started
 *   /jobs/NAME/log         "<time>:<text>" lines
 *
 * doc/namespace.md is the contract. */
#ifndef JOBD_FS_H
#define JOBD_FS_H

#include "jobs/jobs.h"
#include "srv/srv.h"

typedef struct Fs Fs;

typedef struct FsConfig {
	size_t max_ctl_write;       /* bytes accepted by one write to clone or ctl */
} FsConfig;

/* ---- fs.c ---- */
Fs *fs_new(Jobs *js, const FsConfig *cfg);
/* The operations to hand to srv_new (aux = the Fs). */
SrvOps fs_ops(Fs *fs);
void fs_free(Fs *fs);

#endif
