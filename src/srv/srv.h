/* The 9P engine: listeners, framing, msize, fid and tag tables, version
 * negotiation, Tflush, per-message protocol checks and dispatch to the name
 * space's operations (SrvOps). It knows nothing of jobs.
 *
 * Every request gets exactly one reply. Most operations are synchronous and
 * return 0 or -errno; Tread is asynchronous so a file may park it (req_park)
 * and answer later; Tflush or a closing connection cancels a parked read via
 * SrvOps.flush, after which its reply is discarded. */
#ifndef JOBD_SRV_H
#define JOBD_SRV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "9p/fcall.h"
#include "srv/cidr.h"

typedef struct Srv Srv;
typedef struct Conn Conn;
typedef struct Fid Fid;
typedef struct Req Req;

/* How the name space describes a file; the engine encodes it per dialect
 * (stat, stat.u, Rgetattr, dirents). */
typedef struct Dirinfo {
	Qid qid;
	uint32_t mode;              /* permission bits, DMDIR for directories */
	uint64_t length;
	int64_t atime, mtime, ctime; /* unix seconds */
	const char *name, *uid, *gid, *muid;
	uint32_t n_uid, n_gid;
} Dirinfo;

/* Who is on the other end, in the kernel's word (see identify in dispatch.c). */
typedef struct Peer {
	int is_unix;                /* unix socket: cred is from SO_PEERCRED */
	int has_cred;               /* uid is the kernel's: SO_PEERCRED, or sock_diag on loopback */
	uint32_t uid, gid, pid;     /* gid and pid: unix sockets only */
	int family;                 /* TCP: AF_INET or AF_INET6; 0 if the address is unknown */
	uint8_t ip[16];
	uint16_t port;              /* the peer's source port */
	uint8_t lip[16];            /* our end of the connection */
	uint16_t lport;
	int loopback;
	int trusted;                /* inside a trusted network and from a privileged port: its root names its users */
	char addr[136];             /* "tcp!127.0.0.1!4242" or "unix!/path" */
} Peer;

/* A fid that acts as no one: TCP clients from other hosts, unless tcp_uid names someone. */
enum { SRV_NOUSER = 0xffffffffu };
/* Why a fid may not change anything. */
enum { RO_NONE, RO_TCPREADONLY, RO_NOUSER };

struct Fid {
	uint32_t fid;
	Conn *conn;
	Qid qid;
	int omode;                  /* -1 not open, else OREAD/OWRITE/ORDWR */
	int append;                 /* opened for append */
	void *aux;                  /* the name space's per-fid state */
	char uname[64];             /* the name Tattach gave */
	uint32_t n_uname;
	uint32_t uid;               /* who this fid acts as (see attach in dispatch.c) */
	int readonly;               /* RO_*: no writes through this fid, and why */
	uint64_t diroff, dirindex;  /* 9P2000 directory read continuation */
	Fid *hnext;                 /* fid table chain */
};

struct Req {
	Conn *conn;
	Fcall ifcall;               /* borrows buf */
	Fcall ofcall;
	uint8_t *buf;               /* this request's own copy of its frame */
	Fid *fid;
	int responded, flushed, parked;
	Req *flushers;              /* Tflush requests waiting for this one */
	Req *next, *prev;           /* outstanding list of the connection */
	Req *flushnext;
	void *aux;                  /* for whoever parks it */
};

typedef struct SrvOps {
	void *aux;                  /* handed back as srv_ops_aux() */
	/* Tattach: set f->qid and f->aux for the root. */
	int (*attach)(Fid *f, const char *aname, char *why, size_t n);
	/* Move f one step to `name` (not NUL-terminated; ".." included). */
	int (*walk1)(Fid *f, const char *name, size_t len, char *why, size_t n);
	/* newf becomes a copy of f (aux duplicated). */
	void (*clone)(Fid *f, Fid *newf);
	/* Open f; omode is OREAD/OWRITE/ORDWR (| OTRUNC). Snapshot content here. */
	int (*open)(Fid *f, int omode, char *why, size_t n);
	/* Create `name` in directory f; f moves to it and is opened with omode. */
	int (*create)(Fid *f, const char *name, uint32_t perm, int omode, char *why, size_t n);
	/* Answer r (now with srv_read_reply, or later after req_park). */
	void (*read)(Req *r);
	/* Directory entry `index` of f: 1 and *d filled, 0 past the end, -1 no
	 * entry at this index for this fid (hidden from it): the next index follows. */
	int (*dirent)(Fid *f, uint64_t index, Dirinfo *d);
	int (*write)(Fid *f, uint64_t offset, const uint8_t *data, uint32_t count,
	             uint32_t *written, char *why, size_t n);
	int (*stat)(Fid *f, Dirinfo *d);
	/* Truncate to zero (the kernel's O_TRUNC replacement); synthetic files accept or refuse. */
	int (*truncate)(Fid *f, char *why, size_t n);
	/* Remove the file f refers to. */
	int (*remove)(Fid *f, char *why, size_t n);
	/* Cancel a parked request: the name space must respond to it (the reply is discarded). */
	void (*flush)(Req *r);
	void (*destroyfid)(Fid *f);
} SrvOps;

typedef struct SrvConfig {
	uint32_t max_msize;         /* cap on negotiated msize */
	uint32_t max_fids;          /* per connection */
	uint32_t max_reqs;          /* outstanding requests per connection */
	uint32_t max_conns;         /* identified connections; root's unix-socket peers keep a reserve */
	uint32_t max_conns_per_user; /* per uid (root exempt), or per address for other hosts */
	uint64_t attach_timeout_ms; /* a connection with no successful Tattach by then is closed */
	size_t max_wqueue;          /* bytes of replies queued before reading pauses */
	int debug;                  /* trace every message to stderr */
	/* Protected mode: TCP peers outside loopback must be inside one of these. */
	const Cidr *allow;
	size_t nallow;
	/* Hosts whose root (from a privileged source port) names its users. */
	const Cidr *trust;
	size_t ntrust;
	uint32_t tcp_uid;           /* other hosts' clients act as this user, SRV_NOUSER: no one */
	int tcp_readonly;           /* every TCP client is read-only */
	uint32_t sock_mode;         /* unix sockets' permission bits (0 = 0666) */
	int64_t sock_gid;           /* and group (-1 = jobd's) */
	/* How whoever runs jobd changes each limit (jobd.c: "-maxconns"), added
	 * to a refusal that meets it; NULL: nothing is added. The engine knows
	 * limits, not how they are set. */
	struct {
		const char *allow, *max_conns, *max_conns_per_user;
	} knobs;
} SrvConfig;

/* ---- srv.c ---- */
Srv *srv_new(uv_loop_t *loop, const SrvConfig *cfg, const SrvOps *ops);
/* Listens on addr: "tcp!host!port", "host:port", "unix!/path". Logs the bound
 * address ("listening on tcp!127.0.0.1!5640"). */
int srv_listen(Srv *s, const char *addr, char *why, size_t n);
/* Stops accepting, lets queued replies drain, closes every connection; calls
 * done(arg) when nothing is left open. */
void srv_shutdown(Srv *s, void (*done)(void *), void *arg);
/* Replies that acknowledge a change (Twrite, Tcreate, Tremove, Tsetattr, ...)
 * are held until this is called: the caller calls it once what those
 * requests changed is durable (once per loop turn, after the store's commit). */
void srv_release(Srv *s);
/* Marks what is held now as what the next srv_release sends: replies held
 * after this wait for the release after that (a commit in flight covers the
 * changes made before it began, not those made while it goes on). Without
 * a seal, srv_release sends nothing. */
void srv_seal(Srv *s);
/* The commit that the sealed replies waited for failed: their connections
 * are closed instead (the client sees its connection lost, never a yes for
 * a change that may not be stored). */
void srv_drop_sealed(Srv *s);
/* Whether a reply is held for a commit: someone waits for it. */
int srv_holding(const Srv *s);
void srv_free(Srv *s);
void *srv_ops_aux(Srv *s);
uint64_t srv_messages(Srv *s);
unsigned srv_connections(Srv *s);
/* The connection has attached: it no longer counts toward the attach deadline. */
void conn_attached(Conn *c);
Srv *conn_srv(const Conn *c);

/* ---- respond.c ---- */
/* Send r->ofcall (type filled in by the engine) as the reply. */
void req_respond(Req *r);
/* Reply with an error: errno for .u/.L, text (why, or strerror) for 9P2000/.u. */
void req_error(Req *r, int err, const char *why);
/* Answer a Tread from content[0..len) honouring offset and count. */
void srv_read_reply(Req *r, const void *content, size_t len);
/* Answer a Tread with data[0..len), len at most its count (the caller read
 * from the offset itself). */
void srv_reply_data(Req *r, const void *data, size_t len);
/* Mark r as parked (answered later); the flush op will be called to cancel
 * it. -EBUSY: the connection has as many parked as it may (max_fids); the
 * caller answers r itself. Parked requests do not count against max_reqs. */
int req_park(Req *r);

#endif
