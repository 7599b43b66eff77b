/* The release and the revision jobd and jobctl print for -version. The
 * Makefile passes both (git describe's answer for the revision) when it
 * compiles src/cmd; these are the values for a build without it. */
#ifndef JOBD_CMD_VERSION_H
#define JOBD_CMD_VERSION_H

#ifndef JOBD_VERSION
#define JOBD_VERSION "0.1.0"
#endif
#ifndef JOBD_REVISION
#define JOBD_REVISION "unknown"
#endif

/* "jobd 0.1.0 (revision e911a06)" for prog "jobd". */
#define VERSION_LINE(prog) prog " " JOBD_VERSION " (revision " JOBD_REVISION ")"

#endif
