#!/usr/bin/env bash
# Build the drizzle-ops image from the repository's Dockerfile here, where no registry is reachable
# (so no `FROM python:…`): the base is a local Debian bookworm with Debian's python3 and python3-venv,
# debootstrap'd once and cached like the postgres rootfs; drizzle-ops comes from this source tree and
# its dependencies from wheels downloaded on the host, so `docker build` itself needs no network.
#
#   .ci/docker/build-tool-image.sh
#
# Env:
#   TOOL_IMAGE         the tag to build (default drizzle-ops/tool:ci)
#   DRIZZLE_OPS_CACHE  cache dir (default /var/cache/drizzle-ops): the base rootfs tarball, the wheelhouse
#   DEBIAN_MIRROR      Debian mirror URL (default: the one apt's sources use)
# Needs a running engine (.ci/docker/engine-up.sh) and python3 ≥ 3.11 with pip on the host (tomllib reads
# pyproject.toml; .ci/run's venv has both). Installs debootstrap via apt if missing.
# The base image is drizzle-ops/tool-base:<recipe>, labelled org.drizzle-ops.local-build=true.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${DRIZZLE_OPS_CACHE:-/var/cache/drizzle-ops}
TOOL_IMAGE=${TOOL_IMAGE:-drizzle-ops/tool:ci}
SUITE=bookworm
LABEL_NS=org.drizzle-ops
# Debian's Python and what `python3 -m venv` needs; CA certificates for sslmode=verify-full, as python:slim has
BASE_PACKAGES=python3,python3-venv,ca-certificates
T_START=$EPOCHREALTIME

export DOCKER_BUILDKIT=0 # Debian's docker.io has no buildx; the classic builder suffices.

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
sha12() { sha256sum | cut -c1-12; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

timeout 10 docker info >/dev/null 2>&1 || {
	echo "docker engine not answering; run .ci/docker/engine-up.sh first" >&2
	exit 1
}

apt_uri() { # the first http(s) URI in apt's active sources ending in $1
	shopt -s nullglob
	local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
	shopt -u nullglob
	[ "${#files[@]}" -gt 0 ] || return 0
	sed -E 's/#.*//' "${files[@]}" 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | sed -E 's#/+$##' |
		grep -E "$1\$" | head -n1 || true
}

build_base_rootfs() { # out.tar
	command -v debootstrap >/dev/null || {
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	}
	local mirror security dir=$WORK/rootfs
	mirror=${DEBIAN_MIRROR:-$(apt_uri /debian)}
	mirror=${mirror:-http://deb.debian.org/debian}
	security=$(apt_uri /debian-security)
	security=${security:-${mirror%/debian}/debian-security}
	echo "    debootstrap --variant=minbase $SUITE + $BASE_PACKAGES from $mirror"
	debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$dir" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
		tail -n 30 "$WORK/debootstrap.log" >&2
		return 1
	}
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
		"$mirror" "$SUITE" "$mirror" "$SUITE" "$security" "$SUITE" >"$dir/etc/apt/sources.list"
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d" # no services start inside the image
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || :
	chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
		/bin/bash -euo pipefail -c 'apt-get update -qq; apt-get upgrade -y -qq >/dev/null; apt-get clean' \
		>"$WORK/chroot.log" 2>&1 || {
		tail -n 30 "$WORK/chroot.log" >&2
		return 1
	}
	: >"$dir/etc/resolv.conf"
	tar -C "$dir" --numeric-owner --one-file-system \
		--exclude=./var/lib/apt/lists/* --exclude=./var/cache/apt/* \
		--exclude=./usr/share/doc/* --exclude=./usr/share/man/* --exclude=./usr/share/info/* \
		--exclude=./tmp/* --exclude=./proc/* --exclude=./sys/* \
		-cf "$1.partial" .
	mv "$1.partial" "$1"
	rm -rf --one-file-system "$dir"
}

# A changed recipe (packages or the function above) means a new base.
RECIPE=$({
	echo "tool-base v1 $SUITE $BASE_PACKAGES"
	declare -f build_base_rootfs
} | sha12)
BASE_TAR=$CACHE/tool-base-$RECIPE.tar
BASE_IMAGE=drizzle-ops/tool-base:$RECIPE

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock" # serialise builds sharing this cache (the postgres images use the same lock)
flock 9
WORK=$(mktemp -d "$CACHE/work.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"' EXIT

if have "$BASE_IMAGE"; then
	echo "==> $BASE_IMAGE present"
else
	if [ -s "$BASE_TAR" ]; then
		echo "==> base rootfs cached: $BASE_TAR"
	else
		t0=$EPOCHREALTIME
		build_base_rootfs "$BASE_TAR"
		echo "==> debootstrap base rootfs: $(since "$t0")"
	fi
	docker import --message "drizzle-ops tool base rootfs" --change "LABEL $LABEL_NS.local-build=true" \
		"$BASE_TAR" "$BASE_IMAGE" >/dev/null
	echo "==> imported $BASE_IMAGE"
fi
find "$CACHE" -maxdepth 1 -name 'tool-base-*.tar' ! -name "tool-base-$RECIPE.tar" -delete
for ref in $(docker images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=drizzle-ops/tool-base'); do
	[ "$ref" = "$BASE_IMAGE" ] || docker rmi "$ref" >/dev/null 2>&1 || true
done

# --- wheels for the base's Python, downloaded on the host: the image build stays offline --------------
PY=$(docker run --rm --entrypoint python3 "$BASE_IMAGE" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
REQUIREMENTS=$(python3 - "$ROOT/pyproject.toml" <<-'PYEOF'
	import sys, tomllib
	with open(sys.argv[1], "rb") as f:
	    data = tomllib.load(f)
	print("\n".join([*data["project"]["dependencies"], *data["build-system"]["requires"]]))
PYEOF
)
WHEELS_KEY=$(printf '%s\n%s\n' "$PY" "$REQUIREMENTS" | sha12)
WHEELHOUSE=$CACHE/tool-wheels/$WHEELS_KEY
if [ -f "$WHEELHOUSE/.complete" ]; then
	echo "==> wheelhouse cached for Python $PY: $WHEELHOUSE"
else
	t0=$EPOCHREALTIME
	rm -rf "$WHEELHOUSE"
	mapfile -t reqs <<<"$REQUIREMENTS"
	# The same wheels pip would pick inside the image: CPython $PY on glibc x86_64, or pure Python.
	python3 -m pip download -q --disable-pip-version-check -d "$WHEELHOUSE" --only-binary=:all: \
		--python-version "$PY" --implementation cp --abi "cp${PY/./}" --abi abi3 --abi none \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		--platform any "${reqs[@]}" 2>&1 | grep -v 'is ignored' >&2 || true
	[ -n "$(find "$WHEELHOUSE" -name 'psycopg_binary-*.whl' 2>/dev/null)" ] || {
		echo "wheel download for Python $PY failed (see above)" >&2
		exit 1
	}
	touch "$WHEELHOUSE/.complete"
	echo "==> wheelhouse for Python $PY: $(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels, $(since "$t0")"
fi
find "$CACHE/tool-wheels" -mindepth 1 -maxdepth 1 ! -name "$WHEELS_KEY" -exec rm -rf {} +

# --- the image: the repository's Dockerfile and .dockerignore, on a staged context ---------------------
ctx=$WORK/context
mkdir -p "$ctx"
cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$ROOT/pyproject.toml" "$ROOT/README.md" "$ctx/"
cp -r "$ROOT/src" "$ctx/src"
cp -r "$WHEELHOUSE" "$ctx/wheelhouse"
t0=$EPOCHREALTIME
docker build -q -t "$TOOL_IMAGE" --label "$LABEL_NS.local-build=true" \
	--build-arg BASE_IMAGE="$BASE_IMAGE" \
	--build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/tmp/drizzle-ops/wheelhouse \
	"$ctx" >"$WORK/build.log" 2>&1 || {
	cat "$WORK/build.log" >&2
	exit 1
}
docker image prune -f --filter "label=$LABEL_NS.local-build=true" >/dev/null || true
echo "==> docker build $TOOL_IMAGE: $(since "$t0") (all: $(since "$T_START"))"
