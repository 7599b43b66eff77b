/* Go-style command-line flags, shared by jobd and jobctl: -flag, --flag,
 * -flag=value, -flag value (non-boolean), bare -flag for booleans,
 * -flag=true|false. Parsing stops at "--" or the first non-flag argument. */
#ifndef JOBD_FLAGS_H
#define JOBD_FLAGS_H

#include <stddef.h>

typedef enum { FLAG_BOOL, FLAG_INT, FLAG_STRING, FLAG_LIST } FlagType;

typedef struct Flag {
	const char *name;
	FlagType type;
	void *value;                /* int*, const char**, or FlagList* */
	const char *usage;
	const char *defshow;        /* default as shown in usage */
} Flag;

typedef struct FlagList {
	const char *v[16];
	int n;
} FlagList;

/* Parses argv; returns the index of the first non-flag argument, -1 on error
 * (message in why), or -2 if -help/-h was given. */
int flags_parse(Flag *flags, int argc, char **argv, char *why, size_t n);
void flags_usage(const Flag *flags, const char *prog, const char *synopsis);

#endif
