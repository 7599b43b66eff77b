/* Column output for ls, nodes and runs (the listings of ls and nodes, as a
 * table or a JSON array), and key=value fields of status files. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

void table_init(Table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

/* A new row at the end: its t->ncols cells, to be filled. */
static char **row_add(Table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cell = xrealloc(t->cell, t->cap * t->ncols * sizeof *t->cell);
	}
	return t->cell + t->nrows++ * t->ncols;
}

void table_row(Table *t, ...)
{
	char **row = row_add(t);
	va_list ap;
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		row[i] = xstrdup(s ? s : "-");
	}
	va_end(ap);
}

void table_print(const Table *t, FILE *f, int aligned)
{
	if (!aligned) {
		for (size_t r = 1; r < t->nrows; r++)
			for (size_t i = 0; i < t->ncols; i++)
				fprintf(f, "%s%c", t->cell[r * t->ncols + i], i + 1 < t->ncols ? '\t' : '\n');
		return;
	}
	if (t->nrows < 2)
		return;     /* a header over nothing says nothing */
	size_t *w = xcalloc(t->ncols, sizeof *w);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			size_t len = strlen(t->cell[r * t->ncols + i]);
			if (len > w[i])
				w[i] = len;
		}
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cell[r * t->ncols + i];
			if (i + 1 < t->ncols)
				fprintf(f, "%-*s  ", (int)w[i], s);
			else
				fprintf(f, "%s\n", s);
		}
	free(w);
}

void table_free(Table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof *t);
}

void ctl_list(Ctl *x, const char *const *head, const char *const *wide_head, size_t n,
              CtlListItem *each, void *arg)
{
	const char *const *h = x->out == OUT_WIDE ? wide_head : head;
	size_t ncols = 0;
	while (h[ncols])
		ncols++;
	Table t;
	table_init(&t, ncols);
	char **row = row_add(&t);
	for (size_t i = 0; i < ncols; i++)
		row[i] = xstrdup(h[i]);
	Buf out = {0};
	Json j;
	json_init(&j, &out);
	if (x->out == OUT_JSON)
		json_open(&j, NULL, '[');
	for (size_t i = 0; i < n; i++)
		each(arg, i, x->out == OUT_JSON ? NULL : &t, &j);
	if (x->out == OUT_JSON) {
		json_close(&j, ']');
		fwrite(out.data, 1, out.len, stdout);
	} else {
		table_print(&t, stdout, x->tty);
	}
	buf_free(&out);
	table_free(&t);
}

int kv_get(const char *line, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	const char *p = line;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		size_t len = strcspn(p, " \t\n");
		if (len > klen && p[klen] == '=' && memcmp(p, key, klen) == 0) {
			size_t vlen = len - klen - 1;
			if (n > 0) {
				if (vlen >= n)
					vlen = n - 1;
				memcpy(out, p + klen + 1, vlen);
				out[vlen] = 0;
			}
			return 0;
		}
		p += len;
	}
	return -1;
}
