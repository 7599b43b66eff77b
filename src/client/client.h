/* A small synchronous 9P client over a connected stream socket, used by
 * jobctl and by the tests. One request is outstanding at a time. It speaks
 * whichever dialect the server agrees to: 9P2000.L (Tlopen, Treaddir,
 * Tgetattr) or 9P2000/9P2000.u (Topen, Tread of a directory, Tstat).
 *
 * Functions that can fail return 0 or -errno and write the reason into
 * why[0..n); when the server refused, the reason is its Rerror text (or
 * strerror of its Rlerror code). */
#ifndef JOBD_CLIENT_H
#define JOBD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "9p/fcall.h"
#include "util/util.h"

typedef struct Client Client;

/* What client_stat reports, whatever the dialect. */
typedef struct ClientStat {
	Qid qid;
	int isdir;          /* qid.type has QTDIR */
	uint64_t length;    /* bytes; what the server reports, which may be 0 for generated files */
	uint32_t perm;      /* permission bits, 0777 */
	int64_t mtime;      /* seconds since the epoch */
} ClientStat;

/* ---- client.c ---- */

/* Connects to addr: "tcp!host!port", "unix!/path", "host:port" ("[v6]:port"),
 * or a path containing a slash (a unix socket). On success *fd is a
 * connected, close-on-exec socket. */
int client_dial(const char *addr, int *fd, char *why, size_t n);

/* Wraps a connected fd, which the Client then owns. dialect (P9_2000L is the
 * usual choice) and msize (0: 131072,
 * what the Linux kernel offers) are what client_version will propose. */
Client *client_new(int fd, int dialect, uint32_t msize);

/* Closes the fd and frees everything; fids die with the connection. */
void client_free(Client *c);

/* Tversion: proposes the dialect and msize given to client_new and adopts
 * what the server answers (a lower dialect, a smaller msize). -EPROTONOSUPPORT
 * if the server knows no 9P2000 dialect. Resets all fids. */
int client_version(Client *c, char *why, size_t n);

/* Tattach of the root fid, without authentication. n_uname is ignored in
 * plain 9P2000; pass P9_NONUNAME when there is no numeric uid. */
int client_attach(Client *c, const char *uname, uint32_t n_uname, const char *aname,
                  char *why, size_t n);

/* The negotiated dialect. */
int client_dialect(const Client *c);
/* The socket (to shut it from a signal handler: a read waiting in the
 * server then returns), and whether the connection is unusable (closed,
 * or its framing lost): a caller may dial again. */
int client_fd(const Client *c);
int client_broken(const Client *c);

/* One raw transaction. Sets t->tag (NOTAG for Tversion), sends t, and decodes
 * the reply into r, which borrows *rbuf: a malloc'ed copy of the reply frame
 * that the caller always frees (NULL when nothing was received). Checks the
 * reply's tag and that its type answers t. An Rerror/Rlerror reply is returned
 * in r *and* as -errno with its text in why. */
int client_rpc(Client *c, Fcall *t, Fcall *r, uint8_t **rbuf, char *why, size_t n);

/* A fresh fid unused on this connection. */
uint32_t client_fid(Client *c);

/* Walks from the root to path ("a/b", leading and doubled slashes and "."
 * ignored; "" or "/" clones the root) into a new fid, in steps of at most 16
 * elements. qid may be NULL. A missing element is -ENOENT. */
int client_walk(Client *c, const char *path, uint32_t *fid, Qid *qid, char *why, size_t n);

/* Walks to path and opens it with a 9P2000 mode (OREAD, OWRITE, ORDWR, plus
 * OTRUNC); in 9P2000.L the mode becomes the Linux flags the kernel would send.
 * dir selects O_DIRECTORY in 9P2000.L. *iounit is the largest useful I/O
 * count for the fid (never 0). Clunk the fid when done. */
int client_open_fid(Client *c, const char *path, uint8_t mode, int dir, uint32_t *fid,
                    uint32_t *iounit, char *why, size_t n);

/* Tclunk. Returns 0 or -errno. */
int client_clunk(Client *c, uint32_t fid);

/* Reads path from byte offset off until an empty Rread, appending to out. */
int client_read_from(Client *c, const char *path, uint64_t off, Buf *out, char *why, size_t n);

/* Reads the whole file: Tread from offset 0 until an empty Rread. *data is
 * malloc'ed and NUL-terminated (not counted in *len); the caller frees it. */
int client_read_file(Client *c, const char *path, char **data, size_t *len, char *why,
                     size_t n);

/* Reads small files (at most msize less a header each: a read of more is
 * cut there) in a pipeline: the walk, open, read and clunk of up to 32 files
 * go out before the first reply is read, since jobd answers a connection's
 * requests in order. fn(arg, i, rc, data, len, why) once per path, in order:
 * rc 0 and the file's text (NUL-terminated, len bytes), or -errno and why
 * (-ENOENT for a file that does not exist). Returns 0, or -errno if the
 * connection failed. */
int client_read_many(Client *c, const char *const *paths, size_t count,
                     void (*fn)(void *arg, size_t i, int rc, const char *data, size_t len,
                                const char *why),
                     void *arg, char *why, size_t n);

/* Opens path write-only without truncation and writes data from offset 0 in
 * iounit-sized Twrites (in 9P2000.L: Tlopen then Twrite, as the kernel does
 * for `echo > file` minus its xattr and setattr steps). */
int client_write_file(Client *c, const char *path, const void *data, size_t len, char *why,
                      size_t n);

/* Opens path read-write, writes data as client_write_file does, then reads
 * the same fid from offset 0 to end of file into *reply (jobd's answer to the
 * write: see ctl_reply_next), and clunks it. Returns the write's result; the
 * read back is best effort (a server that refuses it leaves *reply empty),
 * since the write has taken effect by then. */
int client_write_read(Client *c, const char *path, const void *data, size_t len, Buf *reply,
                      char *why, size_t n);

/* The names in directory path, in the server's order, without "." and "..".
 * *names is a malloc'ed array of malloc'ed strings; free it with
 * client_free_names. */
int client_list_dir(Client *c, const char *path, char ***names, size_t *count, char *why,
                    size_t n);
void client_free_names(char **names, size_t count);

/* Tgetattr (9P2000.L) or Tstat of path. */
int client_stat(Client *c, const char *path, ClientStat *st, char *why, size_t n);

#endif
