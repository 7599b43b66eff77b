/* libFuzzer target for the 9P codec (src/9p/fcall.c, fcallfmt.c).
 *
 * Input: one control byte, then one whole frame (size[4] type[1] tag[2] body).
 *   control bits 0-1: dialect, 0 = 9P2000, 1 = 9P2000.u, 2 = 9P2000.L (3 = 9P2000.L)
 *   control bit 7:    overwrite the frame's size[4] with its actual length, so
 *                     mutated frames get past the framing check
 * The committed corpus (fuzz/corpus/9p/) holds frames captured from real
 * sessions with the control byte equal to the session's dialect.
 *
 * Properties checked (abort() on a violation, so libFuzzer keeps the input):
 *   - a frame that decodes re-encodes to exactly the same bytes, into a buffer
 *     of exactly its length, and does not fit into one byte less;
 *   - p9_fmt stays inside its buffer and terminates it, even when tiny;
 *   - stat records and dirents, read back to back from the frame and from the
 *     data of a decoded Rread/Rreaddir, re-encode to exactly the bytes consumed.
 * ASan and UBSan catch out-of-bounds access and undefined arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "9p/fcall.h"

static void fail(const char *what, size_t len)
{
	fprintf(stderr, "fuzz_9p: %s (frame of %zu bytes)\n", what, len);
	abort();
}

/* p9_fmt into a heap buffer of exactly n bytes (ASan sees any overrun). */
static void fmt_check(size_t n, int dialect, const Fcall *f)
{
	char *out = malloc(n);
	if (out == NULL)
		abort();
	memset(out, 'x', n);
	p9_fmt(out, n, dialect, f);
	if (strnlen(out, n) >= n)
		fail("p9_fmt left its output unterminated", n);
	free(out);
}

/* Stat records back to back, each re-encoded and compared. */
static void stats(const uint8_t *p, size_t len, int dialect)
{
	size_t off = 0;
	while (off < len) {
		P9stat st;
		size_t k = p9_unpack_stat(p + off, len - off, dialect, &st);
		if (k == 0)
			break;
		if (k > len - off)
			fail("p9_unpack_stat consumed more than it was given", len);
		uint8_t *out = malloc(k);
		if (out == NULL)
			abort();
		if (p9_pack_stat(out, k, dialect, &st) != k || memcmp(out, p + off, k) != 0)
			fail("stat record does not round-trip", k);
		if (p9_pack_stat(out, k - 1, dialect, &st) != 0)
			fail("p9_pack_stat fit a record into one byte less", k);
		free(out);
		off += k;
	}
}

/* 9P2000.L dirents back to back, likewise. */
static void dirents(const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		Qid qid;
		uint64_t offset;
		uint8_t type;
		P9str name;
		size_t k = p9_unpack_dirent(p + off, len - off, &qid, &offset, &type, &name);
		if (k == 0)
			break;
		if (k > len - off)
			fail("p9_unpack_dirent consumed more than it was given", len);
		uint8_t *out = malloc(k);
		if (out == NULL)
			abort();
		if (p9_pack_dirent(out, k, &qid, offset, type, name) != k ||
		    memcmp(out, p + off, k) != 0)
			fail("dirent does not round-trip", k);
		if (p9_pack_dirent(out, k - 1, &qid, offset, type, name) != 0)
			fail("p9_pack_dirent fit a dirent into one byte less", k);
		free(out);
		off += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int dialect = data[0] & 3;
	if (dialect == 3)
		dialect = P9_2000L;
	int patch = data[0] & 0x80;
	size_t len = size - 1;

	/* The frame in a heap buffer of exactly its length. */
	uint8_t *frame = malloc(len ? len : 1);
	if (frame == NULL)
		abort();
	if (len > 0)
		memcpy(frame, data + 1, len);
	if (patch && len >= 4) {
		for (int i = 0; i < 4; i++)
			frame[i] = (uint8_t)(len >> (8 * i));
	}

	Fcall f;
	if (p9_unpack(frame, len, dialect, &f) == 0) {
		uint8_t *out = malloc(len);
		if (out == NULL)
			abort();
		size_t n = p9_pack(out, len, dialect, &f);
		if (n != len)
			fail("decoded frame re-encodes to a different length", len);
		if (memcmp(out, frame, len) != 0)
			fail("decoded frame re-encodes to different bytes", len);
		if (p9_pack(out, len - 1, dialect, &f) != 0)
			fail("p9_pack fit a frame into one byte less", len);
		free(out);

		if (p9_typename(f.type) == NULL)
			fail("decoded a type p9_typename does not know", len);
		fmt_check(512, dialect, &f);
		fmt_check(1 + len % 40, dialect, &f);

		if ((f.type == Rread || f.type == Rreaddir) && f.count > 0) {
			stats(f.data, f.count, dialect);
			dirents(f.data, f.count);
		}
	}

	/* Undecodable bytes too: the client-side decoders see server data. */
	stats(frame, len, dialect);
	dirents(frame, len);

	free(frame);
	return 0;
}
