#!/usr/bin/env bash
# Runs a command against a PostgreSQL server of its own:
#   tests/store/pg_server.sh CMD [ARG...]
# initdb into a new temporary directory (as the unprivileged user `nobody`
# when run as root, through runuser: the server refuses to run as root),
# pg_ctl start with the socket in that directory and listening on 127.0.0.1
# at a free port, then CMD with HR_STORE_TARGET set to the conninfo string
# ("host=DIR port=PORT user=hr dbname=postgres").  On exit, whatever the
# command did, the server is stopped by its process id (postmaster.pid; fast
# shutdown, SIGKILL after 30 s) and the directory removed.  Exits with CMD's
# status.
#
# No server binaries (Debian postgresql-15): a failure (exit 1) when CI or
# HR_REQUIRE_PG is set, as in scripts/test.sh; elsewhere a skip (exit 77,
# ctest's SKIP_RETURN_CODE) with a message saying what to install.
# PG_BINDIR overrides where initdb and pg_ctl are looked for.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
  done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  msg="no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin:"
  msg+=" install postgresql-15 (bash scripts/install-deps.sh)"
  if [ -n "${CI:-}" ] || [ -n "${HR_REQUIRE_PG:-}" ]; then
    echo "pg_server.sh: FAIL: $msg" >&2
    exit 1
  fi
  echo "pg_server.sh: SKIP: $msg" >&2
  exit 77
fi

tmp=$(mktemp -d /tmp/hr_pg_XXXXXX)
pid=""
cleanup() {
  local rc=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true # fast shutdown
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pg_server.sh: server $pid still running after 30 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody "$tmp"
  as=(runuser -u nobody --)
fi
chmod 700 "$tmp"

# The server's programs run in the directory (the caller's may be closed to nobody).
(cd "$tmp" && "${as[@]}" "$bindir/initdb" -D "$tmp/data" -U hr -A trust -E UTF8 --no-locale \
  --no-sync >"$tmp/initdb.log" 2>&1) || {
  echo "pg_server.sh: initdb failed:" >&2
  cat "$tmp/initdb.log" >&2
  exit 1
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

started=0
for _ in 1 2 3; do # another process may take the port between the probe and the start
  port=$(free_port)
  if (cd "$tmp" && "${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-k $tmp -p $port -c listen_addresses=127.0.0.1" start >/dev/null 2>&1); then
    started=1
    break
  fi
done
if [ "$started" != 1 ]; then
  echo "pg_server.sh: the server did not start:" >&2
  cat "$tmp/server.log" >&2 || true
  exit 1
fi
pid=$(head -n 1 "$tmp/data/postmaster.pid")
case "$pid" in
  '' | *[!0-9]*) echo "pg_server.sh: no process id in postmaster.pid" >&2; exit 1 ;;
esac

export HR_STORE_TARGET="host=$tmp port=$port user=hr dbname=postgres"
echo "pg_server.sh: PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') pid $pid on 127.0.0.1:$port, socket in $tmp" >&2
set +e
"$@"
rc=$?
set -e
exit "$rc"
