#!/bin/sh
# The documentation's examples, run as written against a real jobd, so the
# docs cannot rot. An example is a fenced block right after the line
#
#     <!-- runnable -->            output shown exactly, times included
#     <!-- runnable any-time -->   times and durations depend on the clock
#
# in README.md or doc/*.md (blank lines may come between). Two kinds:
#
#   ```sh        a script, run by sh -e; it passes if it exits 0.
#   ```console   a session: "$ command" lines, each followed by what it
#                prints (stdout and stderr, on a terminal, as a person sees
#                it). It passes if every command prints what is shown and a
#                command that fails shows its message. In the shown output
#                "..." matches any text, a line holding only "..." any
#                number of lines, and two or more spaces any run of spaces
#                (aligned columns).
#
# Times are compared as shown unless the block is marked any-time: then a
# time matches any time of the same form (2026-11-28T08:00:05+00:00,
# 2026-11-28 08:00:01.5188 +0000 UTC) and a duration (0.0043s) any duration.
# Mark a block any-time only when what it prints depends on when it runs
# (the tour's runs and logs); an example whose times follow from its input
# (jobctl next -from) stays exact, so a wrong date in it fails.
#
# Each file gets a fresh jobd; its blocks run in order in one scratch
# directory, with build/ first on PATH (jobctl, jobd) and JOBD_ADDR set.
# Each command of a session runs in a shell of its own. One ok/not ok line
# per block, named after its file and line: docs/README.md:42.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$BUILD:$PATH
export PATH
HAVE_SCRIPT=0
script -qec true /dev/null </dev/null >/dev/null 2>&1 && HAVE_SCRIPT=1

# blocks FILE: writes each runnable block of FILE to $T/b/N.sh or N.console
# and prints "N KIND LINE ANYTIME" lines (ANYTIME 1 for an any-time block).
blocks() {
	rm -rf "$T/b" && mkdir -p "$T/b"
	awk -v dir="$T/b" '
		/^<!-- runnable -->[ \t]*$/ { armed = 1; anytime = 0; next }
		/^<!-- runnable any-time -->[ \t]*$/ { armed = 1; anytime = 1; next }
		armed && /^[ \t]*$/ { next }
		armed && /^```(sh|console)[ \t]*$/ {
			kind = substr($0, 4); sub(/[ \t]+$/, "", kind)
			n++; out = dir "/" n "." kind; start = NR + 1; inblock = 1; armed = 0
			printf "" >out
			print n, kind, NR, anytime
			next
		}
		armed { armed = 0 }
		inblock && /^```[ \t]*$/ { inblock = 0; close(out); next }
		inblock { print >out }
	' "$1"
}

# matches SHOWN GOT: whether the output in file GOT matches the shown one;
# times and durations as any of their form if $ANYTIME is 1.
matches() {
	awk -v anytime="$ANYTIME" '
		function esc(s,   out, i, c) {
			out = ""
			for (i = 1; i <= length(s); i++) {
				c = substr(s, i, 1)
				if (index("\\^$.[]|()*+?{}", c)) out = out "\\" c
				else out = out c
			}
			return out
		}
		# One shown line as a regular expression: its special forms become
		# placeholders (control characters), the rest is escaped, then the
		# placeholders become their patterns.
		function pattern(s) {
			gsub(/\.\.\./, ANY, s)
			if (anytime) {
				gsub(RFC, C_RFC, s)
				gsub(GO, C_GO, s)
				gsub(DUR, C_DUR, s)
			}
			gsub(/  +/, SP, s)
			s = esc(s)
			gsub(ANY, "[^\n]*", s)
			gsub(SP, " +", s)
			gsub(C_RFC, RFC, s)
			gsub(C_GO, GO, s)
			gsub(C_DUR, DURM, s)
			return s
		}
		BEGIN {
			ANY = sprintf("%c", 1); SP = sprintf("%c", 2)
			C_RFC = sprintf("%c", 3); C_GO = sprintf("%c", 4); C_DUR = sprintf("%c", 5)
			d = "[0-9]"
			date = d d d d "-" d d "-" d d
			clock = d d ":" d d ":" d d
			RFC = date "T" clock "[+-]" d d ":" d d
			GO = date " " clock "([.]" d "+)? [+-]" d d d d " [A-Za-z0-9+-]+"
			DUR = d "+[.]" d "+s"           # shown: 0.0043s
			DURM = d "[0-9.]*(m|u|n)?s"     # matches 4ms, 0s, 1.503s too
		}
		FILENAME == ARGV[1] { want[++nw] = $0; next }
		{ got = got $0 "\n" }
		END {
			re = "^"
			for (i = 1; i <= nw; i++)
				re = re (want[i] == "..." ? "([^\n]*\n)*" : pattern(want[i]) "\n")
			exit !(got ~ (re "$"))
		}
	' "$1" "$2"
}

# session FILE: runs a console block; prints what went wrong, returns 1 if so.
session() {
	awk -v dir="$T/s" '
		/^\$ / { n++; cmd = dir "/" n ".cmd"; w = dir "/" n ".want"
			print substr($0, 3) >cmd; close(cmd); printf "" >w; next }
		n { print >w }
	' "$1"
	i=1 bad=0
	while [ -f "$T/s/$i.cmd" ]; do
		# A terminal for stdout and stderr; script(1) -e passes the
		# command's exit status on.
		script -qec "sh $T/s/$i.cmd" /dev/null </dev/null >"$T/s/$i.raw"
		rc=$?
		tr -d '\r' <"$T/s/$i.raw" >"$T/s/$i.got"
		if ! matches "$T/s/$i.want" "$T/s/$i.got" || { [ "$rc" != 0 ] && [ ! -s "$T/s/$i.want" ]; }; then
			echo "#   \$ $(cat "$T/s/$i.cmd")   (exit status $rc)"
			sed 's/^/#   shown: /' "$T/s/$i.want"
			sed 's/^/#   got:   /' "$T/s/$i.got"
			bad=1
			break
		fi
		i=$((i + 1))
	done
	return $bad
}

total=0
for f in "$TOP/README.md" "$TOP"/doc/*.md; do
	[ -f "$f" ] || continue
	rel=${f#"$TOP"/}
	blocks "$f" >"$T/list"
	[ -s "$T/list" ] || continue
	rm -rf "$T/db" "$T/work"; mkdir -p "$T/work"
	jobd_start
	while read -r n kind line ANYTIME; do
		name="$rel:$line"
		total=$((total + 1))
		if [ "$kind" = sh ]; then
			if (cd "$T/work" && sh -e "$T/b/$n.sh") >"$T/out" 2>&1 </dev/null; then ok "$name"; else
				nok "$name"; sed 's/^/#   /' "$T/out" | head -20
			fi
		elif [ "$HAVE_SCRIPT" = 0 ]; then
			echo "ok - $TESTNAME/$name # SKIP no script(1) for a terminal"
		else
			rm -rf "$T/s" && mkdir -p "$T/s"
			if (cd "$T/work" && session "$T/b/$n.console") >"$T/out" 2>&1; then ok "$name"; else
				nok "$name"; head -30 "$T/out"
			fi
		fi
	done <"$T/list"
	jobd_stop
done
# The marker is easy to mistype; a doc without any runnable block is fine,
# but the README must have some, and one whose times are checked.
check "readme-has-runnable-blocks" grep -q '^<!-- runnable -->' "$TOP/README.md"
check "no-mistyped-markers" sh -c '! grep -n "^[[:space:]]*<!-- *runnable" "$@" | grep -Ev ":<!-- runnable( any-time)? -->[[:space:]]*$"' \
	_ "$TOP/README.md" "$TOP"/doc/*.md
finish
