/* PAM for runs as their owner (jobd is root), as cron does it: the
 * administrator's account policy decides whether a run may start (an expired
 * account's may not), and the session sets the run up (limits.conf through
 * pam_limits, pam_env's variables, the audit login uid). The service is jobd's
 * (contrib/pam/jobd, installed as /etc/pam.d/jobd); its configuration
 * directory may be another (pam_start_confdir), which the tests use.
 *
 * Where each step runs, and why. jobd is one process on one libuv loop, and
 * a run's child is, until exec, a copy of that process:
 *
 *   pam_start, pam_acct_mgmt: in jobd, before the fork (run_pam_new). The
 *   account stack only answers a question (pam_unix reads passwd and shadow);
 *   it changes nothing in the caller, and its answer decides whether to fork
 *   at all, so a refusal is an ordinary "cannot run: ..." with its reason, as
 *   for an owner who no longer exists. Cost: the service's files are parsed
 *   and its modules dlopen'ed per run, on the loop. A module that asks the
 *   network (pam_sss, pam_ldap) blocks every client for its round trip, as
 *   the getpwuid before it already does with such an NSS source.
 *
 *   pam_open_session, pam_getenvlist: in the child, between fork and exec
 *   (run_pam_session). Session modules act on the process that calls them
 *   (pam_limits calls setrlimit, pam_loginuid writes /proc/self/loginuid),
 *   and that must be the run: jobd's own limits and state never change
 *   because of a user's session. Module code is not async-signal-safe
 *   (malloc, stdio, NSS), which is safe in a forked child only because jobd
 *   has a single thread, so no lock can be held by another thread at the
 *   fork: jobd starts none (no uv_queue_work, uv_fs_* or uv_getaddrinfo;
 *   SQLite without worker threads; libmicrohttpd driven from the loop), and
 *   tests/e2e/pam.sh checks that jobd has one task. Add a thread and this
 *   must move to a helper process. The session must also be short: until
 *   exec the child holds copies of jobd's descriptors (the database lock, the
 *   listening sockets), which is one more reason the service we ship leaves
 *   out pam_systemd (a D-Bus round trip to logind).
 *
 *   pam_setcred, pam_close_session: never. jobd authenticates no one (a
 *   run's identity is its job's owner), so there are no credentials to
 *   establish, and a service without an auth stack fails pam_setcred anyway.
 *   Closing the session would need a process waiting for each run to end
 *   (cron keeps one per job); the modules the shipped service uses do
 *   nothing at close, and pam_unix's session (which would log an "opened"
 *   never followed by "closed") is left out of it.
 *
 *   pam_end: jobd ends its copy of the handle after the fork with
 *   PAM_DATA_SILENT (modules' clean-ups learn the session lives on in another
 *   process); the child's copy goes with exec. */
#include <errno.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run.h"
#include "util/util.h"

struct RunPam {
	pam_handle_t *h;
	struct pam_conv conv;
	char said[256];             /* what modules told the user, for a refusal's reason */
};

/* The conversation: there is no one to answer a prompt; messages (pam_unix's
 * "Your account has expired; ...") are kept for the reason of a refusal. */
static int converse(int num, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	RunPam *p = arg;
	if (num <= 0 || num > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	for (int i = 0; i < num; i++)
		if (msg[i]->msg_style != PAM_ERROR_MSG && msg[i]->msg_style != PAM_TEXT_INFO)
			return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)num, sizeof *r);   /* PAM frees it */
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		size_t have = strlen(p->said);
		if (msg[i]->msg && *msg[i]->msg && have + 3 < sizeof p->said)
			strfmt(p->said + have, sizeof p->said - have, "%s%s", have ? "; " : "", msg[i]->msg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

int run_pam_check(const char *service, const char *dir, char *why, size_t n)
{
	if (!*service || strchr(service, '/') || !strcmp(service, ".") || !strcmp(service, "..")) {
		strfmt(why, n, "'%s' is not a PAM service name", service);
		return -EINVAL;
	}
	char path[4096];
	struct stat sb;
	strfmt(path, sizeof path, "%s/%s", dir ? dir : "/etc/pam.d", service);
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		strfmt(why, n, "PAM service %s has no file %s", service, path);
		return -ENOENT;
	}
	return 0;
}

int run_pam_new(const char *service, const char *dir, const char *user, RunPam **out,
                char *why, size_t n)
{
	RunPam *p = xcalloc(1, sizeof *p);
	p->conv.conv = converse;
	p->conv.appdata_ptr = p;
	int rc = pam_start_confdir(service, user, &p->conv, dir, &p->h);
	if (rc != PAM_SUCCESS) {
		strfmt(why, n, "PAM service %s: cannot start: %s", service, pam_strerror(p->h, rc));
		if (p->h)
			pam_end(p->h, rc);
		free(p);
		return -EIO;
	}
	/* What pam_access and the like match a run's origin against (cron says "cron"). */
	pam_set_item(p->h, PAM_TTY, "jobd");
	rc = pam_acct_mgmt(p->h, 0);
	/* A password that must be changed does not stop a job: it uses none. */
	if (rc != PAM_SUCCESS && rc != PAM_NEW_AUTHTOK_REQD) {
		strfmt(why, n, "PAM service %s refuses user %s: %s%s%s%s", service, user,
		       pam_strerror(p->h, rc), *p->said ? " (" : "", p->said, *p->said ? ")" : "");
		pam_end(p->h, rc);
		free(p);
		return -EACCES;
	}
	*out = p;
	return 0;
}

void run_pam_free(RunPam *p)
{
	if (!p)
		return;
	pam_end(p->h, PAM_SUCCESS | PAM_DATA_SILENT);
	free(p);
}

/* In the child: see the comment at the top for why malloc and module code
 * are safe here. Nothing is freed: exec follows. */
int run_pam_session(RunPam *p, char ***envp, size_t keep)
{
	int rc = pam_open_session(p->h, PAM_SILENT);
	if (rc != PAM_SUCCESS)
		return rc;
	char **pe = pam_getenvlist(p->h);
	if (!pe || !*pe)
		return 0;
	size_t n = 0, m = 0;
	while ((*envp)[n])
		n++;
	while (pe[m])
		m++;
	char **v = malloc((n + m + 1) * sizeof *v);
	if (!v)
		return PAM_BUF_ERR;
	memcpy(v, *envp, n * sizeof *v);
	for (size_t i = 0; i < m; i++) {
		size_t klen = strcspn(pe[i], "=");
		if (!pe[i][klen])
			continue;
		size_t j = 0;
		while (j < n && !(strncmp(v[j], pe[i], klen) == 0 && v[j][klen] == '='))
			j++;
		if (j == n)
			v[n++] = pe[i];
		else if (j >= keep)
			v[j] = pe[i];
	}
	v[n] = NULL;
	*envp = v;
	return 0;
}

const char *run_pam_strerror(int code)
{
	return pam_strerror(NULL, code);    /* Linux-PAM does not look at the handle */
}
