#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`; start one if not.
#
#   .ci/docker/engine-up.sh
#
# Env:
#   DOCKERD_PIDFILE  where the pid of a dockerd we start is written
#                    (default: <repo>/.ci/docker/.dockerd.pid; engine-down.sh reads it)
#   DOCKERD_LOG      dockerd's log (default /tmp/dockerd.log, appended)
#   DOCKERD_FLAGS    extra dockerd flags; when set, only these are tried
#   DOCKERD_TIMEOUT  seconds to wait for the engine per attempt (default 60)
#
# If an engine already answers, nothing is started. Otherwise installs Debian's docker.io
# (dockerd, containerd, runc, docker-proxy, iptables) if dockerd is missing, then starts
# dockerd detached. Plain dockerd (overlay2 + iptables bridge) works on this kind of
# machine; --storage-driver=vfs / --iptables=false are added only if dockerd's log blames
# overlayfs / iptables. Published ports (-p 127.0.0.1::5432) go through docker-proxy
# (userland proxy) either way.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PIDFILE=${DOCKERD_PIDFILE:-$ROOT/.ci/docker/.dockerd.pid}
LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
TIMEOUT=${DOCKERD_TIMEOUT:-60}
T0=$EPOCHREALTIME

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
answers() { timeout 5 docker info >/dev/null 2>&1; }
server_version() { docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?'; }

if command -v docker >/dev/null && answers; then
	echo "engine-up: docker engine already answering (server $(server_version)); nothing to do"
	exit 0
fi

if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null || ! command -v docker-proxy >/dev/null; then
	echo "engine-up: installing docker.io from Debian"
	apt_log=$(mktemp)
	# Recommends would add needrestart/apparmor, which only get in the way here.
	{ apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; } >"$apt_log" 2>&1 ||
		{ tail -n 30 "$apt_log" >&2; exit 1; }
	rm -f "$apt_log"
	echo "engine-up: installed docker.io ($(since "$T0"))"
fi
# /usr/local/bin/docker (if any) comes first on PATH and is newer than Debian's daemon;
# the client negotiates the API version down, which `docker info` below proves.
echo "engine-up: client $(command -v docker), dockerd $(command -v dockerd)"

# A dockerd that exited can linger as a zombie (pid 1 here may not reap): not alive.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = dockerd ]; }
live_dockerds() { for p in $(pgrep -x dockerd || true); do if alive "$p"; then echo "$p"; fi; done; }

# A dockerd from an earlier engine-up that is still coming up: wait for it instead.
if [ -f "$PIDFILE" ] && alive "$(cat "$PIDFILE")"; then
	pid=$(cat "$PIDFILE")
	echo "engine-up: dockerd $pid (from $PIDFILE) running but not answering yet; waiting"
	for _ in $(seq "$TIMEOUT"); do
		answers && { echo "engine-up: engine up (server $(server_version), $(since "$T0"))"; exit 0; }
		sleep 1
	done
	echo "engine-up: dockerd $pid does not answer; stop it with engine-down.sh" >&2
	tail -n 40 "$LOG" >&2 || true
	exit 1
fi
# Someone else's dockerd that does not answer: starting a second one would fight over
# /var/run/docker.sock and /var/lib/docker.
others=$(live_dockerds | tr '\n' ' ')
if [ -n "$others" ]; then
	echo "engine-up: a dockerd we did not start is running (pid $others) but not answering" >&2
	exit 1
fi
# A dockerd killed with the session that started it leaves pid files behind. dockerd
# refuses to start while docker.pid names an existing process, and waits in vain for a
# managed containerd whose pid is a zombie (pid 1 here may not reap them). No dockerd is
# alive now; a live orphaned containerd is kept (dockerd reattaches to it).
if [ -f /var/run/docker.pid ]; then
	echo "engine-up: removing stale /var/run/docker.pid ($(cat /var/run/docker.pid 2>/dev/null))"
	rm -f /var/run/docker.pid
fi
cpid_file=/var/run/docker/containerd/containerd.pid
if [ -f "$cpid_file" ]; then
	cpid=$(cat "$cpid_file" 2>/dev/null || true)
	if ! { [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null &&
		[ "$(awk '{ print $3 }' "/proc/$cpid/stat" 2>/dev/null)" != Z ] &&
		[ "$(cat "/proc/$cpid/comm" 2>/dev/null)" = containerd ]; }; then
		echo "engine-up: removing stale $cpid_file ($cpid)"
		rm -f "$cpid_file"
	fi
fi

try_start() { # flags... ; returns 0 once the engine answers
	: >>"$LOG"
	local from pid
	from=$(wc -l <"$LOG")
	echo "engine-up: starting dockerd ${*:-(default flags)}; log $LOG"
	# setsid: not in our process group, so the caller's Ctrl-C/kill of its group spares it.
	setsid dockerd "$@" >>"$LOG" 2>&1 </dev/null &
	pid=$!
	mkdir -p "$(dirname "$PIDFILE")"
	echo "$pid" >"$PIDFILE"
	for _ in $(seq $((TIMEOUT * 4))); do
		if answers; then
			echo "engine-up: engine up, pid $pid, server $(server_version), storage $(docker info -f '{{.Driver}}'), $(since "$T0")"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	echo "engine-up: dockerd ${*:-(default flags)} failed; log tail:" >&2
	tail -n +"$((from + 1))" "$LOG" >"$ATTEMPT_LOG"
	tail -n 30 "$ATTEMPT_LOG" >&2
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	return 1
}

ATTEMPT_LOG=$(mktemp)
trap 'rm -f "$ATTEMPT_LOG"' EXIT
if [ -n "${DOCKERD_FLAGS:-}" ]; then
	# shellcheck disable=SC2086 # flags are meant to be split
	try_start $DOCKERD_FLAGS && exit 0
else
	# Plain dockerd first (overlay2 + iptables: what works here). Fall back only for the
	# cause the log names: vfs is slow and hides images stored under overlay2.
	blames() { grep -iE 'level=(error|fatal)|failed|error' "$ATTEMPT_LOG" | grep -qiE "$1"; }
	flags=()
	for _ in 1 2 3; do
		try_start "${flags[@]}" && exit 0
		added=0
		if ! [[ " ${flags[*]} " == *" --storage-driver=vfs "* ]] &&
			blames 'overlay|graphdriver|storage.driver'; then
			flags+=(--storage-driver=vfs) added=1
		fi
		if ! [[ " ${flags[*]} " == *" --iptables=false "* ]] &&
			blames 'iptables|nat table|bridge|netfilter'; then
			flags+=(--iptables=false) added=1
		fi
		[ "$added" = 1 ] || break
	done
fi
echo "engine-up: could not start a docker engine" >&2
exit 1
