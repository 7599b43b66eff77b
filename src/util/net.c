/* Addresses in the forms jobd listens on and jobctl dials, split once for
 * both (and for -metrics), and a write loop for stream sockets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"

int net_addr_parse(const char *addr, NetAddr *a, char *why, size_t n)
{
	memset(a, 0, sizeof *a);
	int unix_prefix = strncmp(addr, "unix!", 5) == 0, tcp_prefix = strncmp(addr, "tcp!", 4) == 0;
	/* A host name or an IP address never holds a slash: that is a path. */
	if (unix_prefix || (!tcp_prefix && strchr(addr, '/'))) {
		const char *path = unix_prefix ? addr + 5 : addr;
		if (!*path) {
			strfmt(why, n, "'%s': no unix socket path", addr);
			return -EINVAL;
		}
		if (strlen(path) >= sizeof a->host) {
			strfmt(why, n, "'%s': unix socket path longer than %zu bytes", addr,
			       sizeof a->host - 1);
			return -ENAMETOOLONG;
		}
		a->is_unix = 1;
		strcpy(a->host, path);
		return 0;
	}
	const char *rest = tcp_prefix ? addr + 4 : addr;
	const char *sep = tcp_prefix ? strrchr(rest, '!') : strrchr(rest, ':');
	if (!sep) {
		strfmt(why, n, tcp_prefix ? "'%s': want tcp!host!port" :
		       "'%s': want host:port, tcp!host!port or unix!/path", addr);
		return -EINVAL;
	}
	size_t hl = (size_t)(sep - rest);
	if (hl >= 2 && rest[0] == '[' && rest[hl - 1] == ']') {
		rest++;
		hl -= 2;
	}
	if (hl >= sizeof a->host) {
		strfmt(why, n, "'%s': host too long", addr);
		return -EINVAL;
	}
	memcpy(a->host, rest, hl);
	a->host[hl] = 0;
	const char *port = sep + 1;
	char *end;
	errno = 0;
	long p = strtol(port, &end, 10);
	if (*port < '0' || *port > '9' || *end || errno || p > 65535) {
		strfmt(why, n, "'%s': bad port '%s'", addr, port);
		return -EINVAL;
	}
	a->port = (int)p;
	return 0;
}

int net_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		/* MSG_NOSIGNAL: a vanished peer is an error, not a SIGPIPE. A pipe
		 * or a file (ENOTSOCK) gets a plain write. */
		ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}
