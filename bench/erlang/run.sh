#!/usr/bin/env bash
# Compile foundation_bench.erl and run every workload once, each in a fresh VM,
# with the given number of schedulers (+S) and the default sizes. Prints the
# JSON lines on stdout; erl's stderr passes through.
#
#   bench/erlang/run.sh 1     # erl +S 1
#   bench/erlang/run.sh 2     # erl +S 2
set -u
S="${1:-1}"
case "$S" in
  ''|*[!0-9]*) echo "usage: $0 SCHEDULERS (e.g. 1 or 2)" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
erlc -o "$tmp" "$here/foundation_bench.erl" || exit 1

workloads=(
  "counting 1000000"
  "pingpong 1000000 1"
  "pingpong 1000000 64"
  "call 1000000"
  "actor_call 1000000"
  "ring 10000 1000000"
  "spawn 100000"
  "restart 1000"
  "memory 10000"
  "memory 100000"
  "table 65536"
)

status=0
for args in "${workloads[@]}"; do
  # stdin from /dev/null: erl reads its standard input even with -noshell.
  # shellcheck disable=SC2086  # args are split on purpose
  erl +S "$S" -noshell -pa "$tmp" -run foundation_bench main $args -s init stop </dev/null \
    || { echo "run.sh: '$args' failed with status $?" >&2; status=1; }
done
exit "$status"
