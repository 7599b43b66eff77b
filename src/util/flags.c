#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "util/util.h"

static Flag *find(Flag *flags, const char *name, size_t len)
{
	for (Flag *f = flags; f->name; f++)
		if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
			return f;
	return NULL;
}

static int set(Flag *f, const char *val, char *why, size_t n)
{
	char *end;
	switch (f->type) {
	case FLAG_BOOL:
		if (!strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "t") || !strcmp(val, "TRUE") || !strcmp(val, "True"))
			*(int *)f->value = 1;
		else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "f") || !strcmp(val, "FALSE") || !strcmp(val, "False"))
			*(int *)f->value = 0;
		else {
			strfmt(why, n, "invalid boolean value \"%s\" for -%s", val, f->name);
			return -1;
		}
		return 0;
	case FLAG_INT: {
		errno = 0;
		long v = strtol(val, &end, 0);
		if (!*val || *end || errno || v < INT_MIN || v > INT_MAX) {
			strfmt(why, n, "invalid value \"%s\" for -%s: want an integer", val, f->name);
			return -1;
		}
		*(int *)f->value = (int)v;
		return 0;
	}
	case FLAG_STRING:
		*(const char **)f->value = val;
		return 0;
	case FLAG_LIST: {
		FlagList *l = f->value;
		if (l->n == (int)(sizeof l->v / sizeof l->v[0])) {
			strfmt(why, n, "too many -%s flags", f->name);
			return -1;
		}
		l->v[l->n++] = val;
		return 0;
	}
	}
	return -1;
}

int flags_parse(Flag *flags, int argc, char **argv, char *why, size_t n)
{
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == 0)
			break;
		if (!strcmp(a, "--"))
			return i + 1;
		a += a[1] == '-' ? 2 : 1;
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		if ((len == 4 && !memcmp(a, "help", 4)) || (len == 1 && a[0] == 'h'))
			return -2;
		Flag *f = find(flags, a, len);
		if (!f) {
			strfmt(why, n, "flag provided but not defined: -%.*s", (int)len, a);
			return -1;
		}
		if (eq) {
			if (set(f, eq + 1, why, n) < 0)
				return -1;
		} else if (f->type == FLAG_BOOL) {
			*(int *)f->value = 1;
		} else {
			if (i + 1 >= argc) {
				strfmt(why, n, "flag needs an argument: -%s", f->name);
				return -1;
			}
			if (set(f, argv[++i], why, n) < 0)
				return -1;
		}
	}
	return i;
}

void flags_usage(const Flag *flags, const char *prog, const char *synopsis)
{
	fprintf(stderr, "Usage of %s:%s%s\n", prog, synopsis ? " " : "", synopsis ? synopsis : "");
	for (const Flag *f = flags; f->name; f++)
		fprintf(stderr, "  -%s=%s: %s\n", f->name, f->defshow ? f->defshow : "", f->usage);
}
