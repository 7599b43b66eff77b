/* Text a job controls, printed to the operator's terminal. A job's output
 * and log, its command and its files are written by the job's owner (another
 * user, when root or a colleague looks): raw, an ESC sequence in them could
 * retitle the window, move the cursor over what was printed to hide or fake
 * it, remap keys or, on some terminals, answer back into the shell's input.
 * So on a terminal jobctl shows such bytes as \xHH, and prints them as they
 * are only with -raw or when standard output is not a terminal (a pipe, a
 * file: a program reading it wants the bytes).
 *
 * Escaped: C0 controls (0x00-0x1f) but tab and newline, DEL (0x7f), C1
 * controls (U+0080-U+009F, as the two UTF-8 bytes that encode them: some
 * terminals act on those too), and every byte that is not part of valid
 * UTF-8 (a lone 0x9b is CSI to an 8-bit terminal; an overlong form could
 * decode to ESC in a lax decoder). Valid UTF-8 from U+00A0 up is printed as
 * it is. A backslash is not escaped, so a job can print text that looks like
 * an escape: -raw tells the two apart.
 *
 * Which commands: log, output, run -w (a run's output), read (any file, a
 * job's cmd and env included) and status on a terminal (it shows the
 * command), export and import -check (commands, environments). ls shows a
 * schedule and, with -o wide, the command: through ctl_cell, which also
 * escapes tab and newline, as they would split a column. Not runs or
 * ls-files: what they print is jobd's own. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

size_t ctl_utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t k;
	uint32_t c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		k = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, c &= 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return k;
}

void ctl_escape(Buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, plain = 0;           /* s[plain..i) is waiting to be copied */
	while (i < len) {
		uint32_t cp = 0;
		size_t k = ctl_utf8_seq(p + i, len - i, &cp);
		int bad = k == 0 || (cp < 0x20 && cp != '\t' && cp != '\n') ||
		          (cp >= 0x7f && cp <= 0x9f);
		if (!bad) {
			i += k;
			continue;
		}
		if (k == 0)
			k = 1;                      /* one byte that is not UTF-8 */
		buf_add(out, s + plain, i - plain);
		for (size_t j = 0; j < k; j++) {
			char e[4] = { '\\', 'x', hex[p[i + j] >> 4], hex[p[i + j] & 15] };
			buf_add(out, e, 4);
		}
		i += k;
		plain = i;
	}
	buf_add(out, s + plain, len - plain);
}

void ctl_print(Ctl *x, const char *s, size_t len)
{
	if (!x->tty || x->raw) {
		fwrite(s, 1, len, stdout);
		return;
	}
	Buf b = {0};
	ctl_escape(&b, s, len);
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	buf_free(&b);
}

void ctl_cell(Buf *out, const char *s)
{
	Buf b = {0};
	ctl_escape(&b, s, strlen(s));
	for (size_t i = 0; i < b.len; i++) {
		if (b.data[i] == '\t')
			buf_addstr(out, "\\x09");
		else if (b.data[i] == '\n')
			buf_addstr(out, "\\x0a");
		else
			buf_add(out, b.data + i, 1);
	}
	buf_free(&b);
	if (!out->data)
		buf_addstr(out, "");
}
