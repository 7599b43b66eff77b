#!/bin/sh
# A job's bytes do not reach the operator's terminal raw (jobctl(1), ESCAPES):
# on a terminal (a pseudo-terminal made by util-linux script(1)) log,
# output, run -w, read and status show ESC and the other controls as \xHH;
# piped, and with -raw on a terminal, they arrive as the job wrote them.
. "$(dirname "$0")/lib.sh"
J=$JOBCTL

if ! script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	skip "all" "no script(1) (scripts/deps.sh test installs bsdutils)"
	finish
fi
# on_tty CMD...: runs CMD with a terminal as stdout; the terminal's \r dropped.
on_tty() { script -qec "$*" /dev/null </dev/null | tr -d '\r'; }
ESC=$(printf '\033')
has_esc() { grep -q "$ESC" "$1"; }
has_text() { grep -qF -- "$2" "$1"; }

jobd_start
# Colour, a window title (OSC ... BEL), a C1 CSI (U+009B in UTF-8), UTF-8 text.
$J new esc '0 0 1 1 * 2099' \
	"printf 'a\\033[31mred\\033[0m\\n'; printf 'title\\033]0;owned\\007\\n'; printf 'c1 \\302\\2332J caf\\303\\251\\n'"
check "run-piped" sh -c "\"$J\" run -w esc >\"$T/run.pipe\""
check "run-piped-raw-esc" has_esc "$T/run.pipe"
on_tty "$J" run -w esc >"$T/run.tty"
check "run-tty-escaped" has_text "$T/run.tty" ':a\x1b[31mred\x1b[0m'
check "run-tty-osc-escaped" has_text "$T/run.tty" ':title\x1b]0;owned\x07'
check "run-tty-c1-escaped" has_text "$T/run.tty" ':c1 \xc2\x9b2J caf'"$(printf '\303\251')"
check_fails "run-tty-no-esc" has_esc "$T/run.tty"
on_tty "$J" run -w -raw esc >"$T/run.raw"
check "run-tty-raw" has_esc "$T/run.raw"

# output: piped raw, escaped on a terminal, raw with -raw.
"$J" output esc >"$T/out.pipe"
check "output-piped-raw" has_text "$T/out.pipe" ":a${ESC}[31mred${ESC}[0m"
check_fails "output-piped-not-escaped" has_text "$T/out.pipe" '\x1b'
on_tty "$J" output esc >"$T/out.tty"
check "output-tty-escaped" has_text "$T/out.tty" ':a\x1b[31mred\x1b[0m'
check_fails "output-tty-no-esc" has_esc "$T/out.tty"
on_tty "$J" output -raw esc >"$T/out.raw"
check "output-tty-raw" has_text "$T/out.raw" ":a${ESC}[31mred${ESC}[0m"
# The escaped text is the raw text with each control spelled out, no more.
check "output-tty-same-lines" sh -c "test \$(wc -l <\"$T/out.tty\") -eq \$(wc -l <\"$T/out.pipe\")"

# log (which holds the runs' output too): the same.
"$J" log esc >"$T/log.pipe"
check "log-piped-raw" has_esc "$T/log.pipe"
on_tty "$J" log esc >"$T/log.tty"
check "log-tty-escaped" has_text "$T/log.tty" '\x1b[31mred'
check_fails "log-tty-no-esc" has_esc "$T/log.tty"
on_tty "$J" log -raw esc >"$T/log.raw"
check "log-tty-raw" has_esc "$T/log.raw"

# read: any file, here the command the job's owner wrote.
$J set esc cmd "$(printf 'printf \033[2J; echo cleared')"
"$J" read jobs/esc/cmd >"$T/cmd.pipe"
check "read-piped-raw" has_text "$T/cmd.pipe" "printf ${ESC}[2J; echo cleared"
on_tty "$J" read jobs/esc/cmd >"$T/cmd.tty"
check "read-tty-escaped" has_text "$T/cmd.tty" 'printf \x1b[2J; echo cleared'
check_fails "read-tty-no-esc" has_esc "$T/cmd.tty"
on_tty "$J" read -raw jobs/esc/cmd >"$T/cmd.raw"
check "read-tty-raw" has_esc "$T/cmd.raw"

# status on a terminal shows the command: escaped; -raw: as it is.
on_tty "$J" status esc >"$T/st.tty"
check "status-tty-escaped" grep -qF 'printf \x1b[2J; echo cleared' "$T/st.tty"
check_fails "status-tty-no-esc" has_esc "$T/st.tty"
on_tty "$J" status -raw esc >"$T/st.raw"
check "status-tty-raw" has_esc "$T/st.raw"

# output -f follows through the same path as run -w.
on_tty "$J" output -f esc 1 >"$T/f.tty"
check "output-f-tty-escaped" has_text "$T/f.tty" ':a\x1b[31mred'
check_fails "output-f-tty-no-esc" has_esc "$T/f.tty"
jobd_stop
finish
