/* httpget HOST PORT PATH: a minimal HTTP/1.0 GET for the metrics test (so the
 * test needs no HTTP client package). Prints the status line to stderr and
 * the body to stdout; exits 0 on a 200. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: httpget HOST PORT PATH\n");
		return 2;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "httpget: bad address %s\n", argv[1]);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
		perror("httpget: connect");
		return 1;
	}
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[3], argv[1]);
	if (write(fd, req, (size_t)n) != n) {
		perror("httpget: write");
		return 1;
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	ssize_t r;
	while (buf && (r = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)r;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	if (!buf)
		return 1;
	buf[len] = 0;
	char *body = strstr(buf, "\r\n\r\n");
	char *eol = strstr(buf, "\r\n");
	if (!body || !eol) {
		fprintf(stderr, "httpget: no HTTP response\n");
		return 1;
	}
	fprintf(stderr, "%.*s\n", (int)(eol - buf), buf);
	fwrite(body + 4, 1, len - (size_t)(body + 4 - buf), stdout);
	int ok = strncmp(buf, "HTTP/1.0 200", 12) == 0 || strncmp(buf, "HTTP/1.1 200", 12) == 0;
	free(buf);
	return ok ? 0 : 1;
}
