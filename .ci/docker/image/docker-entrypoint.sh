#!/usr/bin/env bash
# Entrypoint of the locally built postgres:<major> images (see ../build-postgres-images.sh).
# Written for this project; it reproduces the documented contract of the official
# Docker Hub image that our tests rely on:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default = user), POSTGRES_INITDB_ARGS,
#   POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD, *_FILE variants, PGDATA,
#   /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz}, and `postgres -c ...` or bare `-c ...` args.
# Like the official image, a fresh cluster is initialised behind a temporary server that
# listens on the unix socket only, so TCP clients can connect only once init is done
# (and "ready to accept connections" is logged twice, which some wait strategies count).
set -Eeuo pipefail

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# VAR or VAR_FILE (docker secrets), never both.
env_or_file() {
	local var=$1 def=${2:-} fvar="${1}_FILE" val
	val=$def
	if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
		die "both $var and $fvar are set; use only one"
	fi
	if [ -n "${!var:-}" ]; then
		val=${!var}
	elif [ -n "${!fvar:-}" ]; then
		val=$(<"${!fvar}")
	fi
	export "$var=$val"
	unset "$fvar"
}

# Bare flags mean "run postgres with these flags", as in the official image.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

# Anything else (bash, psql, ...) runs as given.
if [ "$1" != postgres ]; then
	exec "$@"
fi

# Informational invocations must not touch PGDATA.
for arg in "${@:2}"; do
	case "$arg" in
	-C | --describe-config | -V | --version | --help | '-?') exec "$@" ;;
	esac
done

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
	# PGDATA may be a fresh root-owned tmpfs/volume: hand it to postgres, then drop root.
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres /var/run/postgresql
	chmod 3777 /var/run/postgresql
	if [ "$(stat -c %U "$PGDATA")" != postgres ]; then
		chown -R postgres:postgres "$PGDATA"
	fi
	chmod 700 "$PGDATA" || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		chown -R postgres:postgres "$POSTGRES_INITDB_WALDIR"
		chmod 700 "$POSTGRES_INITDB_WALDIR" || :
	fi
	export HOME=/var/lib/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	env_or_file POSTGRES_PASSWORD
	env_or_file POSTGRES_USER postgres
	env_or_file POSTGRES_DB "$POSTGRES_USER"
	env_or_file POSTGRES_INITDB_ARGS
	auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

	if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
		die "no superuser password: set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or set POSTGRES_HOST_AUTH_METHOD=trust to allow passwordless connections (unsafe outside tests)"
	fi
	if [ "$auth" = trust ]; then
		log "warning: POSTGRES_HOST_AUTH_METHOD=trust lets anyone connect without a password"
	fi
	[ -w "$PGDATA" ] || die "PGDATA=$PGDATA is not writable by $(id -un)"

	initdb_args=(--username="$POSTGRES_USER")
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		initdb_args+=(--waldir="$POSTGRES_INITDB_WALDIR")
	fi
	# POSTGRES_INITDB_ARGS is word-split on purpose (documented as "space separated").
	# The password goes through a pipe, never a file or argv.
	# shellcheck disable=SC2086
	if [ -n "$POSTGRES_PASSWORD" ]; then
		initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
	else
		initdb "${initdb_args[@]}" $POSTGRES_INITDB_ARGS
	fi

	# Local socket connections stay "trust" (initdb default); remote ones need auth.
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	# Servers built with /tmp as socket dir (initdb writes that default into the config)
	# also listen in /var/run/postgresql, where Debian-built clients and the official
	# image put it.
	if [ "$(postgres -C unix_socket_directories -D "$PGDATA" 2>/dev/null)" = /tmp ]; then
		printf "unix_socket_directories = '/var/run/postgresql,/tmp'\n" >>"$PGDATA/postgresql.conf"
	fi

	# Temporary server: unix socket only, with the caller's flags (e.g. fsync=off) applied.
	port=${PGPORT:-5432}
	# Started directly rather than with `pg_ctl -w`, whose 100 ms polling costs ~0.2 s of
	# every container start; readiness is the same signal pg_ctl waits for.
	"$@" -c listen_addresses= -p "$port" &
	temp_pid=$!
	for ((i = 0; ; i++)); do
		kill -0 "$temp_pid" 2>/dev/null || die "temporary server failed to start"
		case "$(sed -n 8p "$PGDATA/postmaster.pid" 2>/dev/null)" in ready*) break ;; esac
		[ "$i" -lt 6000 ] || die "temporary server not ready after 60s"
		sleep 0.01
	done

	psql_cmd=(psql -X -v ON_ERROR_STOP=1 --no-password -p "$port" --username "$POSTGRES_USER")
	if [ "$POSTGRES_DB" != postgres ]; then
		"${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
	fi

	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				log "running $f"
				"$f"
			else
				log "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql)
			log "running $f"
			"${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f"
			;;
		*.sql.gz)
			log "running $f"
			gzip -dc "$f" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB"
			;;
		*) log "ignoring $f" ;;
		esac
	done
	shopt -u nullglob

	kill -INT "$temp_pid" # fast shutdown
	wait "$temp_pid" || die "temporary server did not shut down cleanly"
	unset POSTGRES_PASSWORD
	log "init complete; starting postgres"
fi

exec "$@"
