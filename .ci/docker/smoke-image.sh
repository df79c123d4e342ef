#!/usr/bin/env bash
# Prove the drizzle-ops image works as a user runs it: an app folder mounted read-only at /app (a copy of
# the example workspace, without node_modules), DATABASE_URL pointing at a postgres:<major> container on a
# network of their own, and migrate, plan, status, verify and lint run in the image; each exit code, the
# bookkeeping rows and the output are checked. Also: no Node in the image, `generate` refused in one line
# (exit 2), a non-root user, and no password in any output.
#
#   .ci/docker/smoke-image.sh [IMAGE]        (default: drizzle-ops/tool:ci, from build-tool-image.sh)
#
# Env: SMOKE_PG (postgres major, default 16), SMOKE_TIMEOUT (seconds for the server to answer, default 30).
# Idempotent: leftovers of an interrupted run (labelled org.drizzle-ops.smoke-image) are removed first,
# and everything it starts is removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${1:-drizzle-ops/tool:ci}
PG_IMAGE=postgres:${SMOKE_PG:-16}
TIMEOUT=${SMOKE_TIMEOUT:-30}
LABEL=org.drizzle-ops.smoke-image
NETWORK=drizzle-ops-smoke-image
PASSWORD=smoke-pw-$RANDOM$RANDOM
EXAMPLE=$ROOT/examples/wishlist/packages/backend/database-schema
T_START=$EPOCHREALTIME

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

cleanup() {
	local ids
	ids=$(docker ps -aq --filter "label=$LABEL")
	[ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
	docker network rm "$NETWORK" >/dev/null 2>&1 || true
	[ -z "${APP:-}" ] || rm -rf "$APP"
}
cleanup
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -z "${PG_CID:-}" ] || { echo "--- docker logs (postgres)" >&2; docker logs "$PG_CID" 2>&1 | tail -n 20 >&2; }
	exit 1
}

for image in "$IMAGE" "$PG_IMAGE"; do
	docker image inspect "$image" >/dev/null 2>&1 || fail "$image not built (.ci/docker/build-tool-image.sh, build-postgres-images.sh)"
done

# The app folder as a TypeScript team has it, minus node_modules; readable by the image's non-root user.
APP=$(mktemp -d)
tar -C "$EXAMPLE" --exclude=./node_modules -cf - . | tar -C "$APP" -xf -
chmod -R a+rX "$APP"
migrations=$(find "$APP/drizzle" -maxdepth 1 -name '*.sql' | wc -l)
[ "$migrations" -ge 2 ] || fail "the example has $migrations migrations"
before_last=$(basename "$(find "$APP/drizzle" -maxdepth 1 -name '*.sql' | sort | tail -n 2 | head -n 1)" .sql)
last=$(basename "$(find "$APP/drizzle" -maxdepth 1 -name '*.sql' | sort | tail -n 1)" .sql)

docker network create --label "$LABEL" "$NETWORK" >/dev/null
PG_CID=$(docker run -d --label "$LABEL" --network "$NETWORK" --network-alias db --tmpfs /var/lib/postgresql/data \
	-e POSTGRES_PASSWORD="$PASSWORD" -e POSTGRES_DB=app "$PG_IMAGE" postgres -c fsync=off)
deadline=$((SECONDS + TIMEOUT))
until docker exec "$PG_CID" psql -X -U postgres -d app -Atc 'select 1' >/dev/null 2>&1; do
	[ "$SECONDS" -lt "$deadline" ] || fail "$PG_IMAGE did not answer within ${TIMEOUT}s"
	sleep 0.1
done
# the entrypoint's temporary server also answers on the socket: wait for the final one on TCP
until docker exec -e PGPASSWORD="$PASSWORD" "$PG_CID" psql -X -h 127.0.0.1 -U postgres -d app -Atc 'select 1' >/dev/null 2>&1; do
	[ "$SECONDS" -lt "$deadline" ] || fail "$PG_IMAGE did not answer on TCP within ${TIMEOUT}s"
	sleep 0.1
done
URL=postgresql://postgres:$PASSWORD@db:5432/app

OUT=$(mktemp)
ERR=$(mktemp)
trap 'cleanup; rm -f "$OUT" "$ERR"' EXIT
# tool want-exit args... : run one task in the image the way the README shows; keep its output
tool() {
	local want=$1 code=0 t0=$EPOCHREALTIME
	shift
	docker run --rm --label "$LABEL" --network "$NETWORK" -v "$APP:/app:ro" -e DATABASE_URL="$URL" \
		-e COLUMNS=200 "$IMAGE" "$@" >"$OUT" 2>"$ERR" || code=$?
	if grep -q -- "$PASSWORD" "$OUT" "$ERR"; then fail "drizzle-ops $* printed the password"; fi
	if [ "$code" != "$want" ]; then
		cat "$OUT" "$ERR" >&2
		fail "drizzle-ops $* exited $code, want $want"
	fi
	echo "ok: drizzle-ops $* -> exit $code ($(since "$t0"))"
}
expect() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "missing from the output: $2"; }; }
rows() { docker exec "$PG_CID" psql -X -U postgres -d app -Atc 'select count(*) from drizzle.__drizzle_migrations'; }

tool 0 migrate --to "$before_last"
[ "$(rows)" = $((migrations - 1)) ] || fail "after migrate --to $before_last: $(rows) rows, want $((migrations - 1))"
tool 0 plan --format markdown
expect "$OUT" "<!-- drizzle-ops:plan -->"
expect "$OUT" "\`$last\`"
tool 0 migrate
[ "$(rows)" = "$migrations" ] || fail "after migrate: $(rows) bookkeeping rows, want $migrations"
tool 0 status --check
expect "$OUT" "$migrations applied"
tool 0 verify
tool 0 lint --format markdown
expect "$OUT" "<!-- drizzle-ops:lint -->"
expect "$OUT" "in $migrations file(s)"

# generate needs the app's Node and node_modules, which the image leaves out: one line, exit 2
tool 2 generate
[ "$(wc -l <"$ERR")" = 1 ] || { cat "$ERR" >&2; fail "generate: want one line on stderr"; }
expect "$ERR" "error: the drizzle-ops image has no Node.js: generate runs the app's own drizzle-kit from its node_modules"

# no database given: the image cannot start one of its own, and says what to give instead (exit 2)
code=0
docker run --rm --label "$LABEL" -v "$APP:/app:ro" "$IMAGE" status >"$OUT" 2>"$ERR" || code=$?
[ "$code" = 2 ] || { cat "$OUT" "$ERR" >&2; fail "status without DATABASE_URL exited $code, want 2"; }
expect "$ERR" "error: the drizzle-ops image has no PostgreSQL server of its own: give the database with DATABASE_URL"
echo "ok: drizzle-ops status without DATABASE_URL -> exit 2, says to give one"

# what is (not) inside
if docker run --rm --entrypoint sh "$IMAGE" -c 'command -v node || command -v nodejs || command -v npm || command -v npx'; then
	fail "$IMAGE has Node"
fi
uid=$(docker run --rm --entrypoint id "$IMAGE" -u)
[ "$uid" != 0 ] || fail "$IMAGE runs as root"
echo "ok: no node/npm in $IMAGE, runs as uid $uid"
echo "smoke-image: $IMAGE ok against $PG_IMAGE in $(since "$T_START")"
