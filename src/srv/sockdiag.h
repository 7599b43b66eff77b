/* The owner of a loopback TCP peer's socket, asked of the kernel
 * (NETLINK_SOCK_DIAG / inet_diag). Linux only. */
#ifndef JOBD_SOCKDIAG_H
#define JOBD_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

/* ---- sockdiag.c ---- */
/* A netlink socket for the questions below (close-on-exec), or -errno and why. */
int sockdiag_open(char *why, size_t n);
/* The uid that owns the TCP socket at peer:peer_port connected to
 * local:local_port (addresses of `family`, 4 or 16 bytes, ports in host order).
 * 0 and *uid, or -errno and why (-ENOENT: no such socket, e.g. it has closed,
 * or it lives in another network namespace). Never blocks. */
int sockdiag_peer_uid(int fd, int family, const uint8_t *peer, uint16_t peer_port,
                      const uint8_t *local, uint16_t local_port, uint32_t *uid,
                      char *why, size_t n);

#endif
