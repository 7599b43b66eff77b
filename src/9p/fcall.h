/* 9P message codec: pure pack/unpack for 9P2000, 9P2000.u and 9P2000.L.
 * No sockets, no globals. Decoded messages borrow the receive buffer:
 * every P9str and data pointer in an unpacked Fcall points into it. */
#ifndef JOBD_9P_FCALL_H
#define JOBD_9P_FCALL_H

#include <stddef.h>
#include <stdint.h>

/* Dialect of a connection, chosen by Tversion. */
enum { P9_2000 = 0, P9_2000U = 1, P9_2000L = 2 };

enum {
	P9_HDRSZ = 7,        /* size[4] type[1] tag[2] */
	P9_IOHDRSZ = 24,     /* overhead of Rread/Twrite beyond data */
	P9_MAXWELEM = 16,
	P9_NOTAG = 0xffff,
	P9_NOFID = 0xffffffffu,
	P9_NONUNAME = 0xffffffffu,
};

/* Message types, named as in the manuals and the Linux header. */
enum {
	Tlerror = 6, Rlerror, Tstatfs = 8, Rstatfs, Tlopen = 12, Rlopen,
	Tlcreate = 14, Rlcreate, Tsymlink = 16, Rsymlink, Tmknod = 18, Rmknod,
	Trename = 20, Rrename, Treadlink = 22, Rreadlink, Tgetattr = 24, Rgetattr,
	Tsetattr = 26, Rsetattr, Txattrwalk = 30, Rxattrwalk,
	Txattrcreate = 32, Rxattrcreate, Treaddir = 40, Rreaddir,
	Tfsync = 50, Rfsync, Tlock = 52, Rlock, Tgetlock = 54, Rgetlock,
	Tlink = 70, Rlink, Tmkdir = 72, Rmkdir, Trenameat = 74, Rrenameat,
	Tunlinkat = 76, Runlinkat,
	Tversion = 100, Rversion, Tauth = 102, Rauth, Tattach = 104, Rattach,
	Terror = 106, Rerror, Tflush = 108, Rflush, Twalk = 110, Rwalk,
	Topen = 112, Ropen, Tcreate = 114, Rcreate, Tread = 116, Rread,
	Twrite = 118, Rwrite, Tclunk = 120, Rclunk, Tremove = 122, Rremove,
	Tstat = 124, Rstat, Twstat = 126, Rwstat,
};

/* Qid types and 9P2000 mode bits. */
enum { QTDIR = 0x80, QTAPPEND = 0x40, QTEXCL = 0x20, QTAUTH = 0x08, QTFILE = 0 };
#define DMDIR 0x80000000u
#define DMAPPEND 0x40000000u
#define DMEXCL 0x20000000u
#define DMAUTH 0x08000000u
enum { OREAD = 0, OWRITE = 1, ORDWR = 2, OEXEC = 3, OTRUNC = 0x10, ORCLOSE = 0x40, OAPPEND = 0x80 };

/* 9P2000.L open flags (Tlopen, Tlcreate) and Tunlinkat's flag: Linux's x86
 * values, fixed by the protocol, so the host's O_* constants (which differ on
 * some architectures) are not used. */
enum {
	P9_L_RDONLY = 00, P9_L_WRONLY = 01, P9_L_RDWR = 02, P9_L_ACCMODE = 03,
	P9_L_CREATE = 0100, P9_L_TRUNC = 01000, P9_L_APPEND = 02000,
	P9_L_LARGEFILE = 0100000, P9_L_DIRECTORY = 0200000,
	P9_L_AT_REMOVEDIR = 0x200,
};

/* 9P2000.L Tgetattr/Tsetattr masks. */
#define P9_GETATTR_BASIC 0x7ffull
#define P9_GETATTR_ALL 0x3fffull
enum {
	P9_SETATTR_MODE = 0x1, P9_SETATTR_UID = 0x2, P9_SETATTR_GID = 0x4,
	P9_SETATTR_SIZE = 0x8, P9_SETATTR_ATIME = 0x10, P9_SETATTR_MTIME = 0x20,
	P9_SETATTR_CTIME = 0x40, P9_SETATTR_ATIME_SET = 0x80, P9_SETATTR_MTIME_SET = 0x100,
};

/* A counted string borrowed from a buffer (not NUL-terminated). */
typedef struct P9str {
	const char *s;
	uint16_t n;
} P9str;

typedef struct Qid {
	uint8_t type;
	uint32_t vers;
	uint64_t path;
} Qid;

/* A 9P2000 stat record with the 9P2000.u extension fields (ignored in plain 9P2000). */
typedef struct P9stat {
	uint16_t type;
	uint32_t dev;
	Qid qid;
	uint32_t mode;
	uint32_t atime, mtime;
	uint64_t length;
	P9str name, uid, gid, muid;
	P9str extension;                 /* .u */
	uint32_t n_uid, n_gid, n_muid;   /* .u */
} P9stat;

/* Rgetattr body (9P2000.L). */
typedef struct P9attr {
	uint64_t valid;
	Qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec;
	uint64_t ctime_sec, ctime_nsec, btime_sec, btime_nsec;
	uint64_t gen, data_version;
} P9attr;

/* Tsetattr body (9P2000.L). */
typedef struct P9setattr {
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
} P9setattr;

/* One decoded or to-be-encoded message. Only the fields of `type` are meaningful.
 * Field names follow the manuals; one field serves several messages where the
 * manuals use the same name. */
typedef struct Fcall {
	uint8_t type;
	uint16_t tag;
	uint32_t fid;

	uint32_t msize;          /* Tversion, Rversion */
	P9str version;           /* Tversion, Rversion */

	uint32_t afid;           /* Tauth, Tattach */
	P9str uname, aname;      /* Tauth, Tattach */
	uint32_t n_uname;        /* Tauth, Tattach (.u, .L) */

	P9str ename;             /* Rerror */
	uint32_t ecode;          /* Rerror (.u errno), Rlerror */

	uint16_t oldtag;         /* Tflush */

	uint32_t newfid;         /* Twalk, Txattrwalk */
	uint16_t nwname;         /* Twalk */
	P9str wname[P9_MAXWELEM];
	uint16_t nwqid;          /* Rwalk */
	Qid wqid[P9_MAXWELEM];

	Qid qid;                 /* Rauth, Rattach, Ropen, Rcreate, Rlopen, Rlcreate, Rmkdir, Rsymlink, Rmknod */
	uint32_t iounit;         /* Ropen, Rcreate, Rlopen, Rlcreate */
	uint8_t mode;            /* Topen, Tcreate (9P2000 open mode) */
	uint32_t perm;           /* Tcreate */
	P9str name;              /* Tcreate, Tlcreate, Tsymlink, Tmknod, Trename, Txattrwalk,
	                            Txattrcreate, Tlink, Tmkdir, Tunlinkat, Trenameat (old name) */
	P9str extension;         /* Tcreate (.u) */

	uint64_t offset;         /* Tread, Twrite, Treaddir */
	uint32_t count;          /* Tread, Twrite, Rread, Rwrite, Treaddir, Rreaddir */
	const uint8_t *data;     /* Twrite, Rread, Rreaddir */

	P9stat stat;             /* Rstat, Twstat */

	/* 9P2000.L */
	uint32_t flags;          /* Tlopen, Tlcreate, Txattrcreate, Tunlinkat, Tlock */
	uint32_t lmode;          /* Tlcreate, Tmkdir, Tmknod */
	uint32_t gid;            /* Tlcreate, Tmkdir, Tsymlink, Tmknod */
	uint32_t major, minor;   /* Tmknod */
	P9str symtgt;            /* Tsymlink, Rreadlink (target) */
	uint32_t dfid;           /* Trename, Tmkdir, Tmknod, Tlink, Tunlinkat (dirfd), Trenameat (olddirfid) */
	uint32_t newdfid;        /* Trenameat */
	P9str newname;           /* Trenameat */
	uint64_t request_mask;   /* Tgetattr */
	P9attr attr;             /* Rgetattr */
	P9setattr setattr;       /* Tsetattr */
	uint64_t xattr_size;     /* Rxattrwalk, Txattrcreate */
	uint32_t datasync;       /* Tfsync */
	struct {                 /* Tstatfs reply */
		uint32_t type, bsize;
		uint64_t blocks, bfree, bavail, files, ffree, fsid;
		uint32_t namelen;
	} statfs;
	struct {                 /* Tlock, Tgetlock, Rgetlock */
		uint8_t type;
		uint64_t start, length;
		uint32_t proc_id;
		P9str client_id;
	} lock;
	uint8_t lock_status;     /* Rlock */
} Fcall;

/* ---- fcall.c ---- */

/* Decodes the whole frame buf[0..len) (size[4] included) in `dialect`.
 * Returns 0, or -EPROTO (malformed, truncated, trailing bytes, unknown type,
 * size field disagreeing with len). On success f borrows buf.
 * The .u fields (n_uname, Rerror ecode, Tcreate extension, stat extension and
 * n_uid/n_gid/n_muid) are on the wire in .u and .L alike, as in Linux's codec;
 * in plain 9P2000 they are absent and decode as P9_NONUNAME (ecode 0, empty
 * extension). .L messages decode in every dialect; the engine decides. */
int p9_unpack(const uint8_t *buf, size_t len, int dialect, Fcall *f);

/* Encodes f into buf (at most cap bytes), size field included.
 * Returns the frame length, or 0 if it does not fit or f->type is unknown. */
size_t p9_pack(uint8_t *buf, size_t cap, int dialect, const Fcall *f);

/* Encodes one stat record (size[2] prefix included) for Rstat bodies and
 * 9P2000/.u directory reads. Returns its length, or 0 if it does not fit. */
size_t p9_pack_stat(uint8_t *buf, size_t cap, int dialect, const P9stat *st);

/* Encodes one 9P2000.L dirent (qid, offset, type, name). Returns its length or 0. */
size_t p9_pack_dirent(uint8_t *buf, size_t cap, const Qid *qid, uint64_t offset,
                      uint8_t type, P9str name);

/* Decoders for the above, used by clients: each returns bytes consumed, or 0 if malformed. */
size_t p9_unpack_stat(const uint8_t *buf, size_t len, int dialect, P9stat *st);
size_t p9_unpack_dirent(const uint8_t *buf, size_t len, Qid *qid, uint64_t *offset,
                        uint8_t *type, P9str *name);

/* The version string of a dialect ("9P2000.L"). */
const char *p9_dialect_name(int dialect);
/* errstr.c: the text a 9P2000 Rerror carries for errno err: the Linux
 * kernel's own word for it, which its legacy client maps back to err. */
const char *p9_errstr(int err);
/* The dialect a Tversion or Rversion string names: "9P2000.L", "9P2000.u",
 * or plain 9P2000 for "9P2000" and "9P2000.<anything else>" (version(5));
 * -1 for any other string. */
int p9_dialect_parse(P9str version);

/* Makes a P9str from a NUL-terminated C string (borrowing it); NULL gives the
 * empty string. One longer than 65535 bytes gives a P9str p9_pack refuses. */
P9str p9_str(const char *s);

/* ---- fcallfmt.c ---- */

/* Writes a one-line human-readable rendering of f into out, for the engine's
 * debug traces. */
void p9_fmt(char *out, size_t n, int dialect, const Fcall *f);

/* Name of a message type ("Twalk"), or NULL if unknown. */
const char *p9_typename(uint8_t type);

#endif
