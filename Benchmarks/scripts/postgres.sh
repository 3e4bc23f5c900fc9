# Sourced by the storage and jobs benchmarks: a scratch directory `$work`,
# a throwaway PostgreSQL (fsync on) on port `$pgport` with database `bench`
# at `$url`, and a cleanup on exit that also stops `$kernel_pid` if set.
#   work_prefix=name port=N . Benchmarks/scripts/postgres.sh
work=$(mktemp -d "/tmp/${work_prefix}-XXXXXX")
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$work"
pgport=$((port + 1))
kernel_pid=""
cleanup() {
  [ -n "$kernel_pid" ] && kill "$kernel_pid" 2>/dev/null && wait "$kernel_pid" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -o "-p $pgport -k $work -c listen_addresses=127.0.0.1" -w start >/dev/null
as_pg "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE bench" >/dev/null
url="postgres://postgres@127.0.0.1:$pgport/bench?sslmode=disable"
