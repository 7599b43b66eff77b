#!/bin/sh
# Hostile and odd input over TCP and the unix socket (tests/tools/p9wire.c).
. "$(dirname "$0")/lib.sh"
jobd_start
"$BUILD/tools/p9wire" "$JOBD_TCP" | sed 's|wire/|wire-tcp/|'
"$BUILD/tools/p9wire" "unix!$JOBD_SOCK" | sed 's|wire/|wire-unix/|'
check "daemon-alive" kill -0 "$JOBD_PID"
jobd_stop
finish
