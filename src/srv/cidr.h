/* Address allow-lists for TCP clients: "10.0.0.0/8", "192.168.1.7",
 * "fd00::/8", "::1". Pure code. */
#ifndef JOBD_CIDR_H
#define JOBD_CIDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct Cidr {
	int family;                 /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int bits;
} Cidr;

/* ---- cidr.c ---- */
/* Parses one network; a bare address is a /32 (or /128). 0 or -EINVAL with why. */
int cidr_parse(const char *s, Cidr *out, char *why, size_t n);
/* Parses a comma-separated list, appending to *v (realloc'ed). */
int cidr_parse_list(const char *s, Cidr **v, size_t *count, char *why, size_t n);
/* Does the address (4 or 16 bytes of `family`) fall inside c? IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) match IPv4 networks. */
int cidr_match(const Cidr *c, int family, const uint8_t *addr);
/* Is the address loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104)? */
int addr_is_loopback(int family, const uint8_t *addr);

#endif
