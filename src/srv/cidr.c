#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "util/util.h"

int cidr_parse(const char *s, Cidr *out, char *why, size_t n)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	memset(out, 0, sizeof *out);
	if (hl == 0 || hl >= sizeof host) {
		strfmt(why, n, "'%s' is not a network (want e.g. 10.0.0.0/8 or fd00::/8)", s);
		return -EINVAL;
	}
	memcpy(host, s, hl);
	host[hl] = 0;
	int max;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		strfmt(why, n, "'%s': '%s' is not an IPv4 or IPv6 address", s, host);
		return -EINVAL;
	}
	out->bits = max;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || b < 0 || b > max) {
			strfmt(why, n, "'%s': prefix length must be 0..%d", s, max);
			return -EINVAL;
		}
		out->bits = (int)b;
	}
	return 0;
}

int cidr_parse_list(const char *s, Cidr **v, size_t *count, char *why, size_t n)
{
	char *copy = xstrdup(s), *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		Cidr c;
		if ((rc = cidr_parse(tok, &c, why, n)) < 0)
			break;
		*v = xrealloc(*v, (*count + 1) * sizeof **v);
		(*v)[(*count)++] = c;
	}
	free(copy);
	return rc;
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static const uint8_t v4mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

int cidr_match(const Cidr *c, int family, const uint8_t *addr)
{
	if (family == AF_INET6 && c->family == AF_INET && memcmp(addr, v4mapped, 12) == 0)
		return prefix_equal(c->addr, addr + 12, c->bits);
	if (family != c->family)
		return 0;
	return prefix_equal(c->addr, addr, c->bits);
}

int addr_is_loopback(int family, const uint8_t *addr)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	if (family == AF_INET)
		return addr[0] == 127;
	if (family == AF_INET6)
		return memcmp(addr, v6lo, 16) == 0 || (memcmp(addr, v4mapped, 12) == 0 && addr[12] == 127);
	return 0;
}
