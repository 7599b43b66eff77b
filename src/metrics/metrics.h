/* The optional Prometheus endpoint (-metrics host:port). HTTP is served by
 * libmicrohttpd in its external-event mode: its epoll descriptor is watched by
 * our libuv loop, so no thread is added and the page is rendered on the loop
 * thread by the caller's function. */
#ifndef JOBD_METRICS_H
#define JOBD_METRICS_H

#include <stddef.h>
#include <uv.h>

#include "util/util.h"

typedef struct Metrics Metrics;
/* Writes the whole exposition text into out. */
typedef void (*MetricsRender)(void *arg, Buf *out);

/* ---- metrics.c ---- */
/* Serves GET /metrics on addr ("127.0.0.1:9640", "[::1]:9640"). */
int metrics_start(uv_loop_t *loop, const char *addr, MetricsRender render, void *arg,
                  Metrics **out, char *why, size_t n);
/* Stops serving; the memory goes once the loop has closed the handles. */
void metrics_stop(Metrics *m);

#endif
