/* jobd's name space: the only module that knows both 9P and jobs.
 * doc/namespace.md is the contract; fs.c's tables show it on one screen.
 * Who may do what (doc/security.md) is decided here too: the fid knows who
 * is asking (srv resolved it at Tattach), the job knows its owner. */
#ifndef JOBD_FS_H
#define JOBD_FS_H

#include "jobs/jobs.h"
#include "srv/srv.h"

typedef struct Fs Fs;

/* How a cluster's answer about its nodes comes back (FsConfig). */
typedef void FsNodesDone(void *arg, int rc, const char *text);

typedef struct FsConfig {
	size_t max_ctl_write;       /* bytes accepted by one write to a control or setting file */
	/* Renders /stats ("key value" lines). */
	void (*stats)(void *arg, Buf *out);
	void *stats_arg;
	uint32_t daemon_uid;        /* who jobd runs as; unless root, only it and root create jobs */
	int private_jobs;           /* -private: others' jobs are not visible at all */
	/* -allowusers, -denyusers: files of user names, one a line ("" = none):
	 * only listed users (allow) / no listed user (deny) may create or change
	 * jobs; root always may. */
	const char *allow_file, *deny_file;
	/* A cluster's nodes (doc/namespace.md, "/nodes"); both NULL outside a
	 * cluster, and then there is no /nodes. Each asks the database and
	 * answers once, later, through done (rc 0 and the text, or -errno and
	 * why), or refuses at once with -errno and why (done is not called).
	 * nodes_list's text is the nodes' names, one a line; node_status's is
	 * what nodes/NAME/status holds (-ENOENT: no such node). */
	int (*nodes_list)(void *arg, FsNodesDone *done, void *done_arg, char *why, size_t n);
	int (*node_status)(void *arg, const char *name, FsNodesDone *done, void *done_arg,
	                   char *why, size_t n);
	void *nodes_arg;
	uv_loop_t *loop;            /* for the deadlines of reads that ask the database */
} FsConfig;

/* ---- fs.c ---- */
/* NULL, with why, if an -allowusers or -denyusers file cannot be read. */
Fs *fs_new(Jobs *js, const FsConfig *cfg, char *why, size_t n);
/* Reads the -allowusers and -denyusers files again (SIGHUP); on failure the
 * lists in force stay, and -errno and why say what is wrong. */
int fs_reload_users(Fs *fs, char *why, size_t n);
/* The operations to hand to srv_new (aux = the Fs). */
SrvOps fs_ops(Fs *fs);

/* ---- live.c: files whose reads wait ---- */
/* The JobsWatch hooks (jobs_watch): j changed; j is about to go. */
void fs_touched(Fs *fs, Job *j);
void fs_gone(Fs *fs, Job *j);
/* Once per loop turn, after the store's commit: parked reads that can now
 * be answered are. */
void fs_turn_end(Fs *fs);
/* Whether a parked read would be answered by the next commit (a touched
 * job has one, or /events has new lines and readers): someone waits. */
int fs_waiting(const Fs *fs);
void fs_free(Fs *fs);

#endif
