/* Error strings for 9P2000 without extensions, whose Rerror carries text
 * only. The Linux kernel turns that text back into an errno by exact match
 * against the strings it knows (net/9p/error.c); anything else arrives as
 * "Unknown error 526" (ESERVERFAULT). So a legacy reply says the kernel's
 * word for the errno, and the detail goes to jobd's log instead. 9P2000.u
 * and .L carry the errno itself and keep the detailed text. */
#include <errno.h>
#include <stddef.h>

#include "fcall.h"

/* Errnos the kernel has no string for, sent as the closest one it has. */
static int nearest(int err)
{
	switch (err) {
	case ESRCH: return ENOENT;           /* no such run: the file is gone */
	case ESTALE: return ENODATA;         /* text removed by retention */
	case EILSEQ: case EDOM: return EINVAL;
	case ECANCELED: return EINTR;
	case EADDRINUSE: return EBUSY;
	case EAFNOSUPPORT: return EOPNOTSUPP;
	default: return err;
	}
}

static const struct {
	int err;
	const char *text;
} known[] = {
	{ EPERM, "Operation not permitted" },
	{ ENOENT, "No such file or directory" },
	{ EINTR, "Interrupted system call" },
	{ EIO, "Input/output error" },
	{ ENXIO, "No such device or address" },
	{ E2BIG, "Argument list too long" },
	{ EBADF, "Bad file descriptor" },
	{ EAGAIN, "Resource temporarily unavailable" },
	{ ENOMEM, "Cannot allocate memory" },
	{ EACCES, "Permission denied" },
	{ EBUSY, "Device or resource busy" },
	{ EEXIST, "File exists" },
	{ EXDEV, "Invalid cross-device link" },
	{ ENODEV, "No such device" },
	{ ENOTDIR, "Not a directory" },
	{ EISDIR, "Is a directory" },
	{ EINVAL, "Invalid argument" },
	{ ENFILE, "Too many open files in system" },
	{ EMFILE, "Too many open files" },
	{ ETXTBSY, "Text file busy" },
	{ EFBIG, "File too large" },
	{ ENOSPC, "No space left on device" },
	{ ESPIPE, "Illegal seek" },
	{ EROFS, "Read-only file system" },
	{ EMLINK, "Too many links" },
	{ EPIPE, "Broken pipe" },
	{ ERANGE, "Numerical result out of range" },
	{ EDEADLK, "Resource deadlock avoided" },
	{ ENAMETOOLONG, "File name too long" },
	{ ENOLCK, "No locks available" },
	{ ENOSYS, "Function not implemented" },
	{ ENOTEMPTY, "Directory not empty" },
	{ ELOOP, "Too many levels of symbolic links" },
	{ ENODATA, "No data available" },
	{ EPROTO, "Protocol error" },
	{ EBADMSG, "Bad message" },
	{ EMSGSIZE, "Message too long" },
	{ EPROTONOSUPPORT, "Protocol not supported" },
	{ EOPNOTSUPP, "Operation not supported" },
	{ ECONNRESET, "Connection reset by peer" },
	{ ENOTCONN, "Transport endpoint is not connected" },
	{ ESHUTDOWN, "Cannot send after transport endpoint shutdown" },
	{ ETIMEDOUT, "Connection timed out" },
	{ ECONNREFUSED, "Connection refused" },
	{ EHOSTUNREACH, "No route to host" },
	{ EALREADY, "Operation already in progress" },
	{ EDQUOT, "Disk quota exceeded" },
};

const char *p9_errstr(int err)
{
	err = nearest(err < 0 ? -err : err);
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i].err == err)
			return known[i].text;
	return "Input/output error";
}
