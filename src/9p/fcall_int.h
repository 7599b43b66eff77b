/* Private to src/9p: every message's layout, one table that fcall.c codes
 * (both ways) and fcallfmt.c renders. A layout is the list of fields after
 * size[4] type[1] tag[2], in wire order, each with where it lives in the
 * Fcall and what p9_fmt calls it. */
#ifndef JOBD_9P_FCALL_INT_H
#define JOBD_9P_FCALL_INT_H

#include <stdint.h>

#include "9p/fcall.h"

enum {
	K_END,
	K_U8, K_U16, K_U32, K_U64,  /* little-endian integers */
	K_EXT32,        /* a 9P2000.u u32 (coded in .L too): absent in 9P2000, decoded as ~0 */
	K_EXT32Z,       /* the same, decoded as 0 when absent (Rerror's errno) */
	K_STR,          /* s[2], a P9str */
	K_EXTSTR,       /* a 9P2000.u s[2] (coded in .L too): absent in 9P2000, decoded empty */
	K_QID,          /* qid[13] */
	K_TIME,         /* sec[8] nsec[8], two uint64_t side by side */
	K_DATA,         /* count[4] data[count]: Fcall.count and .data */
	K_WNAMES,       /* nwname[2] nwname*wname[s]: Fcall.nwname and .wname, at most 16 */
	K_WQIDS,        /* nwqid[2] nwqid*wqid[13]: Fcall.nwqid and .wqid, at most 16 */
	K_STAT,         /* n[2] then a stat record (p9_stat_fields) of n bytes */
};

/* How p9_fmt shows an integer. */
enum {
	SHOW_NUM,       /* decimal */
	SHOW_ID,        /* decimal, all ones as ~0 (NOFID, NONUNAME, wstat's "don't touch") */
	SHOW_OCT,       /* 0755 */
	SHOW_HEX,       /* 0x1f */
	SHOW_MODE,      /* a 9P2000 mode as ls(1) shows it: drwxr-xr-x */
};

typedef struct Field {
	uint8_t kind;               /* K_* */
	uint8_t show;               /* SHOW_*, for integers */
	uint16_t off;               /* where: offset in the Fcall (in the P9stat for a stat's) */
	const char *label;          /* p9_fmt's name for it */
} Field;

/* A message type: its manual's name and its layout (NULL: not a message). */
typedef struct Msg {
	const char *name;
	const Field *fields;        /* ends with K_END */
} Msg;

/* ---- fcall.c ---- */
extern const Msg p9_msgs[256];
extern const Field p9_stat_fields[];   /* a stat record after its size[2] */

#endif
