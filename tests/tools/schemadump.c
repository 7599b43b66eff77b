/* schemadump sqlite|pg: prints the jobs store's schema (src/store/schema.c)
 * in that dialect: every step from an empty database to the current version,
 * each one transaction that also records its version, one a line. What
 * `sqlite3 FILE` or `psql -v ON_ERROR_STOP=1 -f -` runs as it is, so that a
 * shell test can check the PostgreSQL text against a real server without
 * jobd linking libpq. Exits 2 on a usage error. */
#include <stdio.h>
#include <stdlib.h>

#include "store/schema.h"

int main(int argc, char **argv)
{
	int d = argc == 2 ? schema_dialect(argv[1]) : -1;
	if (d < 0) {
		fprintf(stderr, "usage: schemadump sqlite|pg\n");
		return 2;
	}
	char *sql = schema_script(d);
	int bad = fputs(sql, stdout) < 0 || fflush(stdout) != 0;
	free(sql);
	if (bad) {
		perror("schemadump: writing");
		return 1;
	}
	return 0;
}
