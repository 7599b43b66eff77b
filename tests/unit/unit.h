/* A tiny unit-test harness. Each tests/unit/t_*.c is its own program:
 *
 *     static void test_roundtrip(void) { CHECK(x == 1); CHECKF(y > 0, "y=%d", y); }
 *     int main(void) { unit_run("roundtrip", test_roundtrip); return unit_done(); }
 *
 * Every unit_run prints "ok - PROG/NAME" or "not ok - PROG/NAME" followed by the
 * failed checks (each at most once per test run, up to a cap); tests/run.sh counts
 * those lines over all programs and prints the final "N passed, N failed". */
#ifndef JOBD_TESTS_UNIT_H
#define JOBD_TESTS_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int unit_failed_checks;
extern const char *unit_prog;

void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void unit_run(const char *name, void (*fn)(void));
int unit_done(void);

#define CHECK(cond) \
	do { if (!(cond)) unit_fail(__FILE__, __LINE__, "%s", #cond); } while (0)
#define CHECKF(cond, ...) \
	do { if (!(cond)) unit_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
