/* What fs.c (the tree, permissions, plain files) and live.c (files whose
 * reads wait) share: the kinds of file, the server's state, a fid's state. */
#ifndef JOBD_FS_INT_H
#define JOBD_FS_INT_H

#include "fs.h"
#include "jobs/events.h"
#include "util/util.h"

/* Kinds are in qid paths, which clients keep: new ones go at the end. A
 * setting's file is of the kind fs.c's setting_kinds gives it: the first
 * seven settings (schedule..env) kept 9..15 and limits 20 when the settings
 * came to be one table (setting_tab); settings added later follow limits
 * (orphan 21), wherever the table lists them, and kinds that are not
 * settings start at 64. A node's files carry a hash of its name
 * (node_id) where a job's carry the job's id. */
enum Kind {
	K_ROOT = 1, K_CLONE, K_STATS, K_JOBS,
	K_JOBDIR, K_CTL, K_STATUS, K_LOG,
	K_SETTING = 9,              /* 9..15: settings 0..6 */
	K_RUNS = 16,
	K_RUNDIR, K_RUNSTATUS, K_RUNOUTPUT,
	K_SETTING7 = 20,            /* 20..63: settings 7.. */
	K_EVENTS = 64,              /* the files of live.c */
	K_LOGFOLLOW, K_RUNWAIT, K_OUTFOLLOW,
	K_NODES, K_NODEDIR, K_NODESTATUS,   /* a cluster's: nodes.c */
};
_Static_assert(K_SETTING7 + SET_N - 7 <= 64, "settings' kinds run into 64");

static inline int is_run_kind(enum Kind k)
{
	return (k >= K_RUNDIR && k <= K_RUNOUTPUT) || k == K_RUNWAIT || k == K_OUTFOLLOW;
}

static inline int is_live_kind(enum Kind k)
{
	return k >= K_EVENTS && k <= K_OUTFOLLOW;
}

static inline int is_node_kind(enum Kind k)
{
	return k >= K_NODES && k <= K_NODESTATUS;
}

typedef struct Tab {
	const char *name;
	enum Kind kind;
	uint32_t perm;              /* DMDIR | bits */
} Tab;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
enum { NJOBHEAD = 4, NJOBTAB = NJOBHEAD + SET_N + 1 };

/* A user list of -allowusers or -denyusers. */
typedef struct Users {
	char *file;                 /* NULL: no list */
	char **names;
	size_t n;
} Users;

/* Owner names and groups, looked up at most every OWNER_TTL seconds. */
typedef struct Owner {
	uint32_t uid, gid;
	int64_t at;                 /* monotonic s when looked up; 0 = empty slot */
	char name[64], group[64];
} Owner;
enum { OWNER_SLOTS = 64, OWNER_TTL = 30 };

typedef struct Live Live;
typedef struct Nodes Nodes;

struct Fs {
	Jobs *js;
	FsConfig cfg;
	int64_t start;              /* times of the synthetic directories */
	char uid[64], gid[64];
	uint32_t n_uid, n_gid;
	Users allow, deny;
	Owner owners[OWNER_SLOTS];
	Tab jobtab[NJOBTAB];        /* a job's directory */
	Live *live;                 /* parked reads (live.c) */
	Nodes *nodes;               /* the cluster's nodes (nodes.c); NULL outside one */
};

/* Per-fid state. */
typedef struct Faux {
	enum Kind kind;
	int64_t job_id;             /* 0 outside /jobs/NAME */
	char *job_name;             /* to find the job again (ids are checked) */
	int64_t run_seq, run_id;    /* inside runs/N */
	Buf snap;                   /* content snapshot taken at open */
	/* log and runs/N/output are read from the store by position: an open
	 * takes what is kept then, [tfirst, tend), and each read one page of it.
	 * Their .follow files read from tfirst (or where a write of "from POS"
	 * put it) to wherever the text ends at each read. */
	int text;
	int64_t tfirst, tend;
	uint64_t ecur;              /* /events: the next event this fid reads */
	uint32_t eoff;              /* and how much of it a short read took */
	uint64_t edropped;          /* events lost to the ring, not yet said */
	int batch;                  /* live files: data was just read, up to batch_end (live.c) */
	uint64_t batch_end;
	char *created;              /* clone: name of the job this fid created */
	int64_t *seqs;              /* runs/: the listing taken at open */
	size_t nseqs;
	char *node;                 /* inside nodes/NAME: NAME */
	char **names;               /* nodes/: the listing taken at open */
	size_t nnames;
	int answered;               /* nodes/NAME/status: snap holds this open's answer */
} Faux;

static inline Fs *FS(Fid *f) { return srv_ops_aux(conn_srv(f->conn)); }

/* fs.c */
Job *faux_job(Fs *fs, Faux *a);
int may_see(Fs *fs, Fid *f, const Job *j);

/* live.c */
Live *live_new(Fs *fs);
void live_free(Live *lv);
/* Open of a live file: where its reads start. */
int live_open(Fid *f, char *why, size_t n);
/* A read of a live file: answered now, or parked until there is something. */
void live_read(Req *r);
/* A write to a live file: "from POS" moves this fid's start. */
int live_write(Fid *f, const char *text, char *why, size_t n);
/* Tflush or a closing connection: the parked read r is answered (discarded). */
void live_flush(Req *r);

/* nodes.c */
enum { NODES_WAIT_MS = 5000, NODES_FRESH_MS = 2000 };
/* NULL unless the configuration has a cluster's nodes. */
Nodes *nodes_new(Fs *fs);
void nodes_free(Nodes *nd);
/* The id in the qid paths of node name's files: a hash of the name. */
int64_t node_id(const char *name);
/* Whether the list of nodes has name[0..len). Like every use of the list,
 * this reads it again in the background if it is older than NODES_FRESH_MS. */
int nodes_has(Fs *fs, const char *name, size_t len);
/* A copy of the list (free each and the array), for a listing of nodes/. */
char **nodes_names(Fs *fs, size_t *count);
void nodes_names_free(char **names, size_t count);
/* A read of nodes/NAME/status: its open's answer if it has one, else the
 * database is asked and the read parked until it answers (NODES_WAIT_MS at
 * most). */
void nodes_read(Req *r);
/* Tflush or a closing connection: the parked read r is answered (discarded). */
void nodes_flush(Req *r);

#endif
