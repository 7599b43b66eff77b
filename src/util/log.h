/* glog-style logging, matching the original jobd's flags:
 *   -logtostderr, -alsologtostderr, -log_dir, -stderrthreshold, -v, -vmodule,
 *   -log_backtrace_at.
 * Lines look like glog's: "I1128 07:50:12.123456 4242 sched.c:88] message". */
#ifndef JOBD_LOG_H
#define JOBD_LOG_H

enum { LOG_INFO = 0, LOG_WARNING = 1, LOG_ERROR = 2, LOG_FATAL = 3 };

typedef struct LogConfig {
	int tostderr;          /* -logtostderr: stderr only, no files */
	int alsotostderr;      /* -alsologtostderr: files and stderr */
	const char *dir;       /* -log_dir: write log files there when non-empty */
	int stderrthreshold;   /* -stderrthreshold: severities at or above go to stderr */
	int v;                 /* -v */
	const char *vmodule;   /* -vmodule: "pattern=N,..." on file base names */
	const char *backtrace_at; /* -log_backtrace_at: "file.c:N" */
} LogConfig;

/* ---- log.c ---- */
/* Validates and installs the configuration; returns 0 or -EINVAL with why. */
int log_init(const LogConfig *c, const char *prog, char *why, size_t n);
void log_fini(void);
void log_msg(int sev, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Is V(level) on for this source file? */
int log_v_on(int level, const char *file);

#define LOGI(...) log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define LOGW(...) log_msg(LOG_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define LOGE(...) log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LOGF(...) log_msg(LOG_FATAL, __FILE__, __LINE__, __VA_ARGS__)
#define VLOG(lvl, ...) \
	do { if (log_v_on(lvl, __FILE__)) log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
