#!/usr/bin/env bash
# Prove the local postgres:<major> images behave like the official ones for our tests:
# start each the way the tests do, connect from the host through the published port with
# the password, and time `docker run` -> first successful query.
#
#   .ci/docker/smoke-test.sh [MAJOR ...]        (default: 14 15 16 17 18)
#
# Env: SMOKE_TIMEOUT (seconds to wait for the first query, default 30),
#      SMOKE_EXTRA=0 to skip the entrypoint edge cases run against the first major.
# Prints one line per major and exits non-zero on the first failure.
set -euo pipefail

TIMEOUT=${SMOKE_TIMEOUT:-30}
if [ "$#" -gt 0 ]; then MAJORS=("$@"); else MAJORS=(14 15 16 17 18); fi

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2fs", b - a }'; }

if ! command -v psql >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-client >/dev/null
fi

CIDS=()
# No --rm below: a container that dies must still have logs to show. Removed here instead.
cleanup() { [ "${#CIDS[@]}" -eq 0 ] || docker rm -f -v "${CIDS[@]}" >/dev/null 2>&1 || true; }
stop() { docker stop "$1" >/dev/null && docker rm -v "$1" >/dev/null; }
trap cleanup EXIT

fail() { # cid message
	echo "FAIL: $2" >&2
	[ -z "$1" ] || { echo "--- docker logs $1" >&2; docker logs "$1" 2>&1 | tail -n 40 >&2; }
	exit 1
}

host_port() { docker port "$1" 5432/tcp | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -n1; }

# q cid port user password db sql : one query from the host, tuples only
q() { PGPASSWORD=$4 PGCONNECT_TIMEOUT=2 psql -X -h 127.0.0.1 -p "$2" -U "$3" -d "$5" -Atc "$6" 2>&1; }

# wait_query cid port user password db : poll until a query succeeds
wait_query() {
	local deadline=$((SECONDS + TIMEOUT))
	while ! q "$@" 'select 1' >/dev/null; do
		[ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || fail "$1" "container exited before accepting connections"
		[ "$SECONDS" -lt "$deadline" ] || fail "$1" "no successful query within ${TIMEOUT}s"
		sleep 0.02
	done
}

for m in "${MAJORS[@]}"; do
	img=postgres:$m
	docker image inspect "$img" >/dev/null 2>&1 || fail "" "$img not built (.ci/docker/build-postgres-images.sh $m)"
	t0=$EPOCHREALTIME
	cid=$(docker run -d --tmpfs /var/lib/postgresql/data -e POSTGRES_PASSWORD=secret \
		-e POSTGRES_DB=app -p 127.0.0.1::5432 "$img" postgres -c fsync=off)
	CIDS+=("$cid")
	port=$(host_port "$cid")
	[ -n "$port" ] || fail "$cid" "no host port published for 5432"
	wait_query "$cid" "$port" postgres secret app
	ready=$(since "$t0")
	out=$(q "$cid" "$port" postgres secret app "select version()") || fail "$cid" "select version(): $out"
	# What the tests rely on beyond "it answers": args reach postgres, UTF8 en_US db,
	# the password is really checked on TCP.
	got=$(q "$cid" "$port" postgres secret app \
		"select current_database(), current_setting('fsync'), pg_encoding_to_char(encoding), datcollate, current_setting('listen_addresses') from pg_database where datname = current_database()")
	[ "$got" = "app|off|UTF8|en_US.utf8|*" ] || fail "$cid" "unexpected settings: $got"
	if q "$cid" "$port" postgres wrong app 'select 1' >/dev/null; then fail "$cid" "wrong password accepted"; fi
	# In-container clients (docker exec psql / pg_isready) use the unix socket, found in
	# /var/run/postgresql as in the official image, or the client's compiled default.
	for sock in /var/run/postgresql ''; do
		got=$(docker exec "$cid" psql -X ${sock:+-h "$sock"} -U postgres -d app -Atc 'select 1' 2>&1) ||
			fail "$cid" "docker exec psql ${sock:-(default socket)}: $got"
	done
	t1=$EPOCHREALTIME
	stop "$cid"
	echo "postgres:$m ok: first query after $ready (port $port), stop $(since "$t1"): ${out%%,*}"
	CIDS=()
done

[ "${SMOKE_EXTRA:-1}" = 1 ] || exit 0
m=${MAJORS[0]}
img=postgres:$m

# Bare flags (no leading "postgres"), custom user, default db = user.
cid=$(docker run -d --tmpfs /var/lib/postgresql/data -e POSTGRES_USER=drizzle \
	-e POSTGRES_PASSWORD='p@ss word' -p 127.0.0.1::5432 "$img" -c synchronous_commit=off)
CIDS=("$cid")
port=$(host_port "$cid")
wait_query "$cid" "$port" drizzle 'p@ss word' drizzle
got=$(q "$cid" "$port" drizzle 'p@ss word' drizzle "select current_user, current_setting('synchronous_commit')")
[ "$got" = "drizzle|off" ] || fail "$cid" "bare flags / POSTGRES_USER: $got"
stop "$cid"
echo "postgres:$m ok: bare -c flags, POSTGRES_USER, default POSTGRES_DB"

# trust mode without a password.
cid=$(docker run -d -e POSTGRES_HOST_AUTH_METHOD=trust -p 127.0.0.1::5432 "$img")
CIDS=("$cid")
port=$(host_port "$cid")
wait_query "$cid" "$port" postgres '' postgres
stop "$cid"
echo "postgres:$m ok: POSTGRES_HOST_AUTH_METHOD=trust (no tmpfs, anonymous volume)"
CIDS=()

# No password and no trust: refuses to start, like the official image.
if out=$(docker run --rm "$img" 2>&1); then fail "" "started without POSTGRES_PASSWORD"; fi
grep -q POSTGRES_PASSWORD <<<"$out" || fail "" "unexpected error without password: $out"
echo "postgres:$m ok: refuses to start without POSTGRES_PASSWORD"

# initdb.d scripts run against POSTGRES_DB before the server opens TCP.
dir=$(mktemp -d)
printf 'create table smoke(x int); insert into smoke values (42);\n' >"$dir/01-table.sql"
chmod -R a+rX "$dir"
cid=$(docker run -d --tmpfs /var/lib/postgresql/data -e POSTGRES_PASSWORD=secret -e POSTGRES_DB=app \
	-v "$dir:/docker-entrypoint-initdb.d:ro" -p 127.0.0.1::5432 "$img")
CIDS=("$cid")
port=$(host_port "$cid")
wait_query "$cid" "$port" postgres secret app
got=$(q "$cid" "$port" postgres secret app "select x from smoke")
[ "$got" = 42 ] || fail "$cid" "initdb.d script not applied: $got"
n=$(docker logs "$cid" 2>&1 | grep -c 'ready to accept connections' || true)
[ "$n" = 2 ] || fail "$cid" "'ready to accept connections' logged $n times, want 2 (temp + final server)"
n=$(docker logs "$cid" 2>&1 | grep -c 'listening on IPv4' || true)
[ "$n" = 1 ] || fail "$cid" "TCP listener opened $n times, want 1 (only the final server)"
stop "$cid"
CIDS=()
rm -rf "$dir"
echo "postgres:$m ok: /docker-entrypoint-initdb.d/*.sql, two 'ready' log lines"
