/* Allow-list networks: parsing and matching, IPv4, IPv6, IPv4-mapped. */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "srv/cidr.h"
#include "unit.h"

static int in(const char *net, const char *addr)
{
	Cidr c;
	char why[128];
	uint8_t a[16];
	if (cidr_parse(net, &c, why, sizeof why) < 0)
		return -1;
	if (inet_pton(AF_INET, addr, a) == 1)
		return cidr_match(&c, AF_INET, a);
	if (inet_pton(AF_INET6, addr, a) == 1)
		return cidr_match(&c, AF_INET6, a);
	return -1;
}

static void test_match(void)
{
	CHECK(in("10.0.0.0/8", "10.1.2.3") == 1);
	CHECK(in("10.0.0.0/8", "11.1.2.3") == 0);
	CHECK(in("192.168.1.0/24", "192.168.1.255") == 1);
	CHECK(in("192.168.1.0/24", "192.168.2.1") == 0);
	CHECK(in("192.168.1.7", "192.168.1.7") == 1);
	CHECK(in("192.168.1.7", "192.168.1.8") == 0);
	CHECK(in("10.213.0.0/30", "10.213.0.3") == 1);
	CHECK(in("10.213.0.0/30", "10.213.0.4") == 0);
	CHECK(in("10.0.0.0/9", "10.127.0.1") == 1);
	CHECK(in("10.0.0.0/9", "10.128.0.1") == 0);
	CHECK(in("0.0.0.0/0", "8.8.8.8") == 1);
	CHECK(in("fd00::/8", "fd12::1") == 1);
	CHECK(in("fd00::/8", "fe80::1") == 0);
	CHECK(in("::1", "::1") == 1);
	CHECK(in("10.0.0.0/8", "::ffff:10.9.9.9") == 1);   /* v4-mapped */
	CHECK(in("10.0.0.0/8", "fd00::10.9.9.9") == 0);
	CHECK(in("fd00::/8", "10.1.1.1") == 0);
}

static void test_parse_errors(void)
{
	Cidr c;
	char why[128];
	const char *bad[] = { "", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "nonsense",
	                      "10.0.0.0/-1", "/8", "10.0.0.0/8x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECKF(cidr_parse(bad[i], &c, why, sizeof why) < 0, "accepted '%s'", bad[i]);
	Cidr *v = NULL;
	size_t n = 0;
	CHECK(cidr_parse_list("10.0.0.0/8, fd00::/8,192.168.0.1", &v, &n, why, sizeof why) == 0);
	CHECK(n == 3);
	free(v);
}

static void test_loopback(void)
{
	uint8_t a[16];
	inet_pton(AF_INET, "127.0.0.1", a);
	CHECK(addr_is_loopback(AF_INET, a));
	inet_pton(AF_INET, "127.9.9.9", a);
	CHECK(addr_is_loopback(AF_INET, a));
	inet_pton(AF_INET, "10.0.0.1", a);
	CHECK(!addr_is_loopback(AF_INET, a));
	inet_pton(AF_INET6, "::1", a);
	CHECK(addr_is_loopback(AF_INET6, a));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
	CHECK(addr_is_loopback(AF_INET6, a));
	inet_pton(AF_INET6, "::2", a);
	CHECK(!addr_is_loopback(AF_INET6, a));
}

int main(void)
{
	unit_prog = "t_cidr";
	unit_run("match", test_match);
	unit_run("parse-errors", test_parse_errors);
	unit_run("loopback", test_loopback);
	return unit_done();
}
