/* ignsig CMD [ARG...]: runs CMD with signals 32 and 33 ignored, as some
 * process supervisors leave them. glibc will not touch those two (they are
 * its own), so this goes to the kernel directly. Used to check that jobd's
 * children still start with every signal at its default. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ignsig CMD [ARG...]\n");
		return 2;
	}
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } ka = {
		.handler = (void *)SIG_IGN,
	};
	for (int s = 32; s <= 33; s++)
		syscall(SYS_rt_sigaction, s, &ka, NULL, sizeof ka.mask);
	execvp(argv[1], argv + 1);
	perror("ignsig: exec");
	return 127;
}
