#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the krakenkit test suite (OrderJournal PostgreSQL backend).
#
# Usage:
#   eval "$(.ci/postgres.sh)"          # start; exports KRAKENKIT_TEST_PG_DSN and KRAKENKIT_TEST_PG_DIR
#   source .ci/postgres.sh              # same, exports directly into the calling shell
#   .ci/postgres.sh stop [DIR]          # stop the cluster in DIR (default $KRAKENKIT_TEST_PG_DIR) and delete it
#
# What it does:
#   1. finds initdb/pg_ctl (pg_config --bindir, /usr/lib/postgresql/<newest>/bin, PATH); when none is found and
#      we are root on Debian/Ubuntu, installs the `postgresql` package with apt-get (no other registry is used);
#   2. creates a temp dir and runs initdb there as a non-root user (postgres cannot run as root: when root we use
#      the `postgres` system user, or create a `krakenkit-pg` user, and switch with runuser/su);
#   3. starts the server on 127.0.0.1 on a free port (unix socket in the temp dir, fsync off: throwaway data),
#      waits until it accepts connections, creates database `krakenkit_test`;
#   4. prints `export KRAKENKIT_TEST_PG_DSN=postgresql://...` and `export KRAKENKIT_TEST_PG_DIR=...` on stdout
#      (everything else goes to stderr), and appends them to $GITHUB_ENV when that is set.
# Exit status is non-zero when no server could be started; the tests then skip LOUDLY.
set -euo pipefail

log() { printf '[postgres.sh] %s\n' "$*" >&2; }

find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"; return 0
    fi
    return 1
}

free_port() {
    local py
    for py in python3 python; do
        if command -v "$py" >/dev/null 2>&1; then
            "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
            return 0
        fi
    done
    echo $(( 20000 + RANDOM % 20000 ))
}

# run a command as the unprivileged cluster owner (or directly when we are not root)
as_owner() {
    if [[ "$(id -u)" -ne 0 ]]; then "$@"; return; fi
    if command -v runuser >/dev/null 2>&1; then
        runuser -u "$PG_OWNER" -- "$@"
    else
        su -s /bin/sh "$PG_OWNER" -c "$(printf '%q ' "$@")"
    fi
}

do_stop() {
    local dir="${1:-${KRAKENKIT_TEST_PG_DIR:-}}"
    if [[ -z "$dir" || ! -d "$dir/data" ]]; then log "nothing to stop (dir '${dir}')"; return 0; fi
    local bindir owner
    bindir="$(cat "$dir/bindir" 2>/dev/null || find_bindir)"
    owner="$(stat -c %U "$dir/data")"
    PG_OWNER="$owner"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
    rm -rf "$dir"
    log "stopped and removed $dir"
}

do_start() {
    local bindir
    if ! bindir="$(find_bindir)"; then
        if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            log "PostgreSQL not found: installing with apt-get (Debian package 'postgresql')"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq >&2 || true
            apt-get install -y -qq --no-install-recommends postgresql >&2
            bindir="$(find_bindir)" || { log "installed, but initdb/pg_ctl still not found"; return 1; }
        else
            log "PostgreSQL not found and cannot install it (need root + apt-get)"; return 1
        fi
    fi
    log "using PostgreSQL binaries in $bindir ($("$bindir/postgres" --version 2>/dev/null || echo '?'))"

    PG_OWNER="$(id -un)"
    if [[ "$(id -u)" -eq 0 ]]; then
        if id postgres >/dev/null 2>&1; then
            PG_OWNER=postgres
        else
            id krakenkit-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin krakenkit-pg
            PG_OWNER=krakenkit-pg
        fi
    fi

    local dir port dsn user=krakenkit db=krakenkit_test
    dir="$(mktemp -d "${TMPDIR:-/tmp}/krakenkit-pg.XXXXXX")"
    chmod 0755 "$dir"
    echo "$bindir" > "$dir/bindir"
    if [[ "$(id -u)" -eq 0 ]]; then chown "$PG_OWNER" "$dir"; fi

    # -A trust: local throwaway cluster reachable on loopback only; --no-sync: nothing here must survive
    as_owner "$bindir/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 \
        || { log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1; }

    local attempt
    for attempt in 1 2 3; do
        port="$(free_port)"
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
            start >&2; then
            break
        fi
        log "start on port $port failed (attempt $attempt):"; tail -n 5 "$dir/server.log" >&2 || true
        port=""
    done
    [[ -n "$port" ]] || { log "could not start PostgreSQL"; return 1; }

    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$db" >&2 \
        || { log "createdb failed"; do_stop "$dir"; return 1; }

    dsn="postgresql://$user@127.0.0.1:$port/$db"
    log "PostgreSQL running: $dsn (data in $dir; stop with: .ci/postgres.sh stop $dir)"
    export KRAKENKIT_TEST_PG_DSN="$dsn" KRAKENKIT_TEST_PG_DIR="$dir"
    if [[ -n "${GITHUB_ENV:-}" ]]; then
        printf 'KRAKENKIT_TEST_PG_DSN=%s\nKRAKENKIT_TEST_PG_DIR=%s\n' "$dsn" "$dir" >> "$GITHUB_ENV"
    fi
    printf 'export KRAKENKIT_TEST_PG_DSN=%q\nexport KRAKENKIT_TEST_PG_DIR=%q\n' "$dsn" "$dir"
}

main() {
    case "${1:-start}" in
        start) do_start ;;
        stop) do_stop "${2:-}" ;;
        *) log "usage: $0 [start|stop [DIR]]"; return 2 ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # sourced: export into the caller's shell, but do not leave `set -e` behind in it
    set +eu
    main "$@" >/dev/null
else
    main "$@"
fi
