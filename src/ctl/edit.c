/* jobctl edit NAME: the job's settings in $EDITOR, checked, and applied.
 *
 * "Atomically" as far as the name space allows: every changed one-line value
 * goes in ONE write of "set KEY VALUE" lines to ctl. jobd applies the lines
 * in order, checking each, and stops at the first it refuses, so what comes
 * after a bad value is not applied (what came before it is). A value of
 * several lines cannot be a ctl line: env (and a multi-line cmd) is written
 * to its own file afterwards, and only if the ctl write succeeded; so is an
 * empty value, which a ctl line would not carry. Settings nobody changed are
 * not written, so a concurrent change to another setting survives. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/ctl.h"

/* Reads the settings jobd has; one it lacks (an older jobd) stays NULL.
 * 0, or the exit status after a message. */
static int read_settings(Ctl *x, const char *name, Settings *s)
{
	char why[512], path[256];
	int rc, have = 0;
	memset(s, 0, sizeof *s);
	for (int i = 0; i < SET_N; i++) {
		ctl_job_path(path, sizeof path, name, setting_tab[i].name);
		s->v[i] = ctl_read(x, path, &rc, why, sizeof why);
		if (s->v[i]) {
			settings_from_file(i, s->v[i]);
			have++;
		} else if (rc != -ENOENT) {
			settings_free(s);
			return ctl_job_refused(x, name, rc, why);
		}
	}
	if (!have) {
		settings_free(s);
		return ctl_job_refused(x, name, -ENOENT, "no settings");
	}
	return 0;
}

/* Runs $EDITOR (vi if unset) on path through /bin/sh, so EDITOR may carry
 * arguments ("code -w"). Returns 0, or -1 after a message. */
static int run_editor(const char *name, const char *path)
{
	const char *ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	Buf cmd = {0};
	buf_printf(&cmd, "%s \"$1\"", ed);
	/* As system(3) does: the editor gets the terminal's interrupts, not us. */
	struct sigaction ign, oint, oquit;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		execl("/bin/sh", "sh", "-c", cmd.data, "sh", path, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	int ok = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok) {
		if (pid < 0)
			fprintf(stderr, "jobctl: %s: cannot run the editor: %s\n", name, strerror(errno));
		else
			fprintf(stderr, "jobctl: %s: the editor (%s) failed (%s %d); nothing changed\n",
			        name, ed, WIFEXITED(st) ? "exit status" : "signal",
			        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	buf_free(&cmd);
	return ok ? 0 : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	Buf b = {0};
	char chunk[4096];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, k);
	fclose(f);
	return b.data ? b.data : xstrdup("");
}

static int spill(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* After a bad edit: on a terminal, offers to edit again with the reason on
 * top of the file; returns 1 to go again, 0 to give up. */
static int again(const char *path, const char *text, const char *why)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return 0;
	fprintf(stderr, "jobctl: edit again? [Y/n] ");
	char line[64];
	if (!fgets(line, sizeof line, stdin) || (line[0] != '\n' && line[0] != 'y' && line[0] != 'Y'))
		return 0;
	/* Replace an earlier "# error:" line rather than piling them up. */
	if (!strncmp(text, "# error: ", 9))
		text += strcspn(text, "\n") + (text[strcspn(text, "\n")] ? 1 : 0);
	Buf b = {0};
	buf_printf(&b, "# error: %s\n%s", why, text);
	int rc = spill(path, b.data);
	buf_free(&b);
	return rc == 0;
}

/* Applies the changed values, those of nw that are not NULL (see the
 * comment at the top). Returns the exit status after messages. */
static int apply(Ctl *x, const char *name, const Settings *nw)
{
	char why[512], path[256];
	Buf batch = {0}, changed = {0};
	int later[SET_N], nlater = 0;
	for (int i = 0; i < SET_N; i++) {
		if (!nw->v[i])
			continue;
		buf_printf(&changed, "%s%s", changed.len ? ", " : "", setting_tab[i].name);
		if (!*nw->v[i] || strchr(nw->v[i], '\n'))
			later[nlater++] = i;
		else
			buf_printf(&batch, "set %s %s\n", setting_tab[i].name, nw->v[i]);
	}
	int ex = EX_OK;
	if (!changed.len) {
		fprintf(stderr, "jobctl: %s: no changes\n", name);
		goto out;
	}
	if (batch.len) {
		int rc = client_write_file(x->c, ctl_job_path(path, sizeof path, name, "ctl"), batch.data,
		                           batch.len, why, sizeof why);
		if (rc < 0) {
			ex = ctl_job_refused(x, name, rc, why);
			fprintf(stderr, "jobctl: %s: settings are applied in order; those before the "
			        "refused one were applied, the rest were not\n", name);
			goto out;
		}
	}
	for (int k = 0; k < nlater; k++) {
		int i = later[k];
		int rc = ctl_write(x, ctl_job_path(path, sizeof path, name, setting_tab[i].name), nw->v[i],
		                   strlen(nw->v[i]), why, sizeof why);
		if (rc < 0) {
			ex = ctl_job_refused(x, name, rc, strfmt(path, sizeof path, "%s: %s",
			                                         setting_tab[i].name, why));
			goto out;
		}
	}
	printf("%s: changed %s\n", name, changed.data);
out:
	buf_free(&batch);
	buf_free(&changed);
	return ex;
}

/* edit NAME: a name with a slash is no job's, and would put the temporary
 * file (named after the job) elsewhere. */
int ctl_check_edit(Ctl *x)
{
	if (strchr(x->args[0], '/'))
		return ctl_usage(x, "'%s' is not a job name", x->args[0]);
	return -1;
}

int ctl_cmd_edit(Ctl *x)
{
	const char *name = x->args[0];
	Settings old, nw;
	int rc;
	if ((rc = read_settings(x, name, &old)) != 0)
		return rc;
	Buf text = {0};
	settings_render(&old, name, &text);
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	strfmt(path, sizeof path, "%s/jobctl-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text.data, text.len) != (ssize_t)text.len || close(fd) < 0) {
		fprintf(stderr, "jobctl: %s: cannot write a temporary file in %s: %s\n", name,
		        tmp && *tmp ? tmp : "/tmp", strerror(errno));
		buf_free(&text);
		settings_free(&old);
		if (fd >= 0)
			unlink(path);
		return EX_REFUSED;
	}
	buf_free(&text);
	int ex = EX_REFUSED, keep = 0;
	for (;;) {
		if (run_editor(name, path) < 0) {
			ex = EX_REFUSED;
			break;
		}
		char *edited = slurp(path), why[512];
		if (!edited) {
			fprintf(stderr, "jobctl: %s: cannot read %s back: %s\n", name, path, strerror(errno));
			break;
		}
		/* Only what changed is checked and applied: an unchanged value
		 * jobd would not take (a job made by mkdir has no schedule) does
		 * not stand in the way of the others. */
		rc = settings_parse(edited, &nw, why, sizeof why);
		for (int i = 0; rc == 0 && i < SET_N; i++) {
			if (nw.v[i] && !old.v[i]) {
				strfmt(why, sizeof why, "this jobd has no setting %s", setting_tab[i].name);
				settings_free(&nw);
				rc = -EINVAL;
			} else if (nw.v[i] && !strcmp(nw.v[i], old.v[i])) {
				free(nw.v[i]);
				nw.v[i] = NULL;
			}
		}
		if (rc == 0 && (rc = settings_check(&nw, why, sizeof why)) < 0)
			settings_free(&nw);
		if (rc == 0) {
			free(edited);
			ex = apply(x, name, &nw);
			settings_free(&nw);
			keep = ex != EX_OK;
			break;
		}
		fprintf(stderr, "jobctl: %s: %s\n", name, why);
		int more = again(path, edited, why);
		free(edited);
		if (!more) {
			keep = 1;
			break;
		}
	}
	if (keep)
		fprintf(stderr, "jobctl: %s: your edit is kept in %s\n", name, path);
	else
		unlink(path);
	settings_free(&old);
	return ex;
}
