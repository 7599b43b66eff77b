/* Implementation of the unit harness declared in unit.h. */
#include "unit.h"

int unit_failed_checks;
const char *unit_prog = "unit";

static int passed, failed;
static int shown;              /* failure messages shown in the current test */
enum { MAX_SHOWN = 20 };

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	unit_failed_checks++;
	if (shown++ >= MAX_SHOWN)
		return;
	va_list ap;
	printf("#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void unit_run(const char *name, void (*fn)(void))
{
	int before = unit_failed_checks;
	shown = 0;
	fn();
	int bad = unit_failed_checks - before;
	if (bad == 0) {
		passed++;
		printf("ok - %s/%s\n", unit_prog, name);
	} else {
		failed++;
		printf("not ok - %s/%s (%d failed checks)\n", unit_prog, name, bad);
	}
	fflush(stdout);
}

int unit_done(void)
{
	printf("# %s: %d passed, %d failed\n", unit_prog, passed, failed);
	return failed ? 1 : 0;
}
