#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"
#include "util/log.h"

struct Metrics {
	struct MHD_Daemon *d;
	uv_poll_t poll;
	uv_timer_t timer;
	MetricsRender render;
	void *arg;
	int closing;
};

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url,
                         const char *method, const char *version, const char *upload,
                         size_t *upload_size, void **state)
{
	Metrics *m = cls;
	(void)version; (void)upload; (void)upload_size; (void)state;
	struct MHD_Response *resp;
	unsigned code;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "only GET\n";
		resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") != 0) {
		static const char msg[] = "jobd serves /metrics\n";
		resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	} else {
		Buf b = {0};
		m->render(m->arg, &b);
		resp = MHD_create_response_from_buffer(b.len, b.data ? b.data : "", MHD_RESPMEM_MUST_COPY);
		buf_free(&b);
		MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		code = MHD_HTTP_OK;
	}
	mhd_result rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void on_timer(uv_timer_t *t);

/* Runs libmicrohttpd's pending work and arms our timer for its next timeout. */
static void pump(Metrics *m)
{
	MHD_run(m->d);
	MHD_UNSIGNED_LONG_LONG to;
	if (MHD_get_timeout(m->d, &to) == MHD_YES)
		uv_timer_start(&m->timer, on_timer, (uint64_t)to, 0);
	else
		uv_timer_stop(&m->timer);
}

static void on_timer(uv_timer_t *t) { pump(t->data); }

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)status; (void)events;
	pump(p->data);
}

/* A's host, an IP address, and port as a socket address. */
static int sockaddr_of(const NetAddr *a, struct sockaddr_storage *ss, char *why, size_t n)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, a->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)a->port);
	} else if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)a->port);
	} else {
		strfmt(why, n, "'%s' is not an IP address", a->host);
		return -EINVAL;
	}
	return 0;
}

int metrics_start(uv_loop_t *loop, const char *addr, MetricsRender render, void *arg,
                  Metrics **out, char *why, size_t n)
{
	NetAddr a;
	struct sockaddr_storage ss;
	int rc = net_addr_parse(addr, &a, why, n);
	if (rc == 0 && a.is_unix) {
		strfmt(why, n, "want host:port, got '%s'", addr);
		rc = -EINVAL;
	}
	if (rc < 0 || (rc = sockaddr_of(&a, &ss, why, n)) < 0)
		return rc;
	Metrics *m = xcalloc(1, sizeof *m);
	m->render = render;
	m->arg = arg;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, m,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	                        MHD_OPTION_END);
	if (!m->d) {
		strfmt(why, n, "cannot listen on %s", addr);
		free(m);
		return -EADDRINUSE;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	uv_poll_init(loop, &m->poll, info->epoll_fd);
	uv_timer_init(loop, &m->timer);
	m->poll.data = m->timer.data = m;
	uv_poll_start(&m->poll, UV_READABLE, on_poll);
	/* Port 0 asks the kernel for one: say which (tests rely on it). */
	const union MHD_DaemonInfo *pi = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	int v6 = ss.ss_family == AF_INET6;
	LOGI("metrics on http://%s%s%s:%u/metrics", v6 ? "[" : "", a.host, v6 ? "]" : "",
	     pi ? (unsigned)pi->port : 0u);
	*out = m;
	return 0;
}

static void closed(uv_handle_t *h)
{
	Metrics *m = h->data;
	if (--m->closing == 0)
		free(m);
}

void metrics_stop(Metrics *m)
{
	m->closing = 2;
	uv_close((uv_handle_t *)&m->poll, closed);
	uv_close((uv_handle_t *)&m->timer, closed);
	MHD_stop_daemon(m->d);
}
