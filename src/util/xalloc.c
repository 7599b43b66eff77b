/* Allocation failure is not recoverable for a daemon of this size: say so and exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void *check(void *p)
{
	if (!p) {
		fputs("jobd: out of memory\n", stderr);
		exit(70);
	}
	return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t m) { return check(calloc(n ? n : 1, m ? m : 1)); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1)); }
char *xstrdup(const char *s) { return check(strdup(s)); }
char *xstrndup(const char *s, size_t n) { return check(strndup(s, n)); }

char *strfmt(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	if (n == 0)
		return out;
	va_start(ap, fmt);
	vsnprintf(out, n, fmt, ap);
	va_end(ap);
	return out;
}
