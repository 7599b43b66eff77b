/* Micro-benchmark of cron_next: for each expression of a mix, the mean time per
 * call from random start instants (1970-2099) in a zone with daylight saving;
 * then the mean over the mix and the slowest expression. One line per figure:
 * "name value unit". Optional argument: milliseconds per expression (100).
 * Build: gcc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/cron_bench.c src/cron/cron.c
 *        src/cron/zone.c -o cron_bench */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron/cron.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

enum { NSTART = 4096 };

int main(int argc, char **argv)
{
	static const struct {
		const char *name, *zone, *spec;
	} mix[] = {
		{ "every_minute", "America/New_York", "* * * * *" },
		{ "every_15min", "America/New_York", "*/15 * * * *" },
		{ "every_10s", "America/New_York", "*/10 * * * * * *" },
		{ "workdays_9am", "America/New_York", "0 9 * * MON-FRI" },
		{ "daily_0230_dst", "America/New_York", "30 2 * * *" },
		{ "daily_lord_howe", "Australia/Lord_Howe", "15 2 * * *" },
		{ "monthly_1st", "America/New_York", "0 0 1 * *" },
		{ "last_day", "America/New_York", "0 0 L * *" },
		{ "nearest_weekday_15", "America/New_York", "0 0 15W * *" },
		{ "third_friday", "America/New_York", "0 0 ? * 5#3" },
		{ "last_friday", "Europe/Berlin", "0 0 ? * 5L" },
		{ "dom_or_dow", "UTC", "30 4 1,15 * 5" },
		{ "yearly", "Europe/London", "@yearly" },
		{ "leap_day", "America/New_York", "0 0 29 2 *" },
		{ "leap_day_2096", "America/New_York", "0 0 0 29 2 ? 2096" },
		{ "never_feb30", "America/New_York", "0 0 30 2 *" },
		{ "never_31st_short_months", "America/New_York", "0 0 31 2,4,6,9,11 *" },
		{ "fifth_friday_feb", "America/New_York", "0 0 ? 2 5#5" },
	};
	enum { NMIX = sizeof mix / sizeof mix[0] };
	double budget = argc > 1 ? 0.001 * (double)atoi(argv[1]) : 0.1;   /* seconds each */
	int64_t starts[NSTART];
	for (int i = 0; i < NSTART; i++)
		starts[i] = (int64_t)(rnd() % 4102444800u);
	double sum = 0, worst = 0;
	const char *worst_name = "";
	volatile int64_t sink = 0;
	for (int k = 0; k < NMIX; k++) {
		char why[256];
		Cron c;
		Zone *z = zone_load(mix[k].zone, why, sizeof why);
		if (z == NULL || cron_parse(mix[k].spec, &c, why, sizeof why) != 0) {
			fprintf(stderr, "cron_bench: %s: %s\n", mix[k].name, why);
			return 1;
		}
		long calls = 0;
		double t0 = now(), t1;
		do {
			for (int i = 0; i < NSTART; i++)
				sink += cron_next(&c, starts[i], 0, z);
			calls += NSTART;
		} while ((t1 = now()) - t0 < budget);
		double ns = (t1 - t0) * 1e9 / (double)calls;
		printf("%s %.1f ns/call\n", mix[k].name, ns);
		sum += ns;
		if (ns > worst) {
			worst = ns;
			worst_name = mix[k].name;
		}
		zone_free(z);
	}
	printf("mix_mean %.1f ns/call\n", sum / NMIX);
	printf("worst %.1f ns/call\n", worst);
	printf("worst_is_%s 1 flag\n", worst_name);
	(void)sink;
	return 0;
}
