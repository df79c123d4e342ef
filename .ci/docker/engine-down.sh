#!/usr/bin/env bash
# Stop the dockerd that engine-up.sh started (pid in DOCKERD_PIDFILE, default
# <repo>/.ci/docker/.dockerd.pid) and wait for it to exit. No-op if that file is absent
# or stale, so an engine someone else runs is never touched.
#
#   .ci/docker/engine-down.sh
#
# Env: DOCKERD_PIDFILE (as in engine-up.sh), DOCKERD_STOP_TIMEOUT (default 30 s, then KILL)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PIDFILE=${DOCKERD_PIDFILE:-$ROOT/.ci/docker/.dockerd.pid}
STOP_TIMEOUT=${DOCKERD_STOP_TIMEOUT:-30}

if [ ! -f "$PIDFILE" ]; then
	echo "engine-down: no $PIDFILE; nothing to stop"
	exit 0
fi
pid=$(cat "$PIDFILE")
# A zombie (exited, not yet reaped by pid 1) counts as stopped.
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Pids get reused: only signal it if it still is a dockerd.
if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! running "$pid" ||
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
	echo "engine-down: dockerd $pid from $PIDFILE is not running; removing stale pid file"
	rm -f "$PIDFILE"
	exit 0
fi

# TERM lets dockerd stop its containers and its containerd cleanly.
echo "engine-down: stopping dockerd $pid"
kill -TERM "$pid"
for _ in $(seq $((STOP_TIMEOUT * 4))); do
	running "$pid" || break
	sleep 0.25
done
if running "$pid"; then
	echo "engine-down: dockerd $pid still running after ${STOP_TIMEOUT}s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.5
fi
rm -f "$PIDFILE"
echo "engine-down: dockerd $pid stopped"
