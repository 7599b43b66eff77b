/* A directory only one user may change, and the files in it: the checks jobd
 * makes of its state directory before it trusts what is there (the jobs in it
 * run as their owners, as root if jobd is root) or writes secrets into it (a
 * job's env). Errors: -errno and a reason a person can act on in why. */
#ifndef JOBD_SECDIR_H
#define JOBD_SECDIR_H

#include <stddef.h>
#include <stdint.h>

/* ---- secdir.c ---- */

/* Opens dir, which must exist, as a directory of user uid's own and returns
 * its descriptor (O_DIRECTORY, close-on-exec; close it), or -errno with why.
 * Refused: a symbolic link (-ELOOP), not a directory (-ENOTDIR), owned by
 * another user (-EPERM), not writable (the access(2) errno), or below a
 * directory that someone other than root and uid could change (-EPERM: they
 * could put a directory of their own in its place). A mode other than 0700 is
 * set to 0700 (and logged), but only if every entry's name starts with one of
 * the prefixes in own (NULL-terminated: the caller's files), else -ENOTEMPTY:
 * a mistaken path (/var/lib, a home) is refused, not locked up. If canon is
 * not NULL, *canon is the directory's absolute path without links (free it). */
int secdir_open(const char *dir, uint32_t uid, const char *const *own, char **canon,
                char *why, size_t n);

/* Checks dir/name (dfd is dir's descriptor, dir is for messages) if it
 * exists: refuses a symbolic link (-ELOOP), anything but a regular file
 * (-EISDIR for a directory, else -EINVAL) and a file owned by another user
 * (-EPERM); clears the group and other bits of its mode (those beyond 0600).
 * 0 if it is absent or was accepted. */
int secdir_file(int dfd, const char *dir, const char *name, uint32_t uid, char *why, size_t n);

/* The same for a file already open (with O_NOFOLLOW) as fd, named path in
 * messages: refuses another user's file (-EPERM); clears the group and other
 * bits of a regular file's mode. Any other type is left to the caller. */
int secdir_fd(int fd, const char *path, uint32_t uid, char *why, size_t n);

#endif
