#!/usr/bin/env bash
# Benchmark `rollsafe check` against squawk on one large generated migration (the issue's speed
# goal: rollsafe's JSON <= 0.5x squawk's JSON time in the same run, and rollsafe's text within
# 1.2x of its own JSON). squawk-cli is installed from the npm registry into a temporary prefix
# unless SQUAWK points at a squawk binary.
#
#   bench/check/run.sh [STATEMENTS] [ROUNDS]
#   env: ROLLSAFE (default build-release/rollsafe), BENCH_CHECK_PARSE (the generator), SQUAWK,
#        SQUAWK_VERSION (2.66.0), SQUAWK_TEXT_TIMEOUT (seconds for squawk's slow text reporter, 120)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
statements="${1:-20000}"
rounds="${2:-5}"
rollsafe="${ROLLSAFE:-$root/build-release/rollsafe}"
generator="${BENCH_CHECK_PARSE:-$(dirname "$rollsafe")/bench/bench_check_parse}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

[ -x "$rollsafe" ] || { echo "no rollsafe binary at $rollsafe (set ROLLSAFE)" >&2; exit 2; }
[ -x "$generator" ] || { echo "no bench_check_parse at $generator (set BENCH_CHECK_PARSE)" >&2; exit 2; }
"$generator" --statements "$statements" --write "$work/big.sql" >/dev/null

squawk="${SQUAWK:-}"
if [ -z "$squawk" ]; then
    echo "installing squawk-cli@${SQUAWK_VERSION:-2.66.0} from the npm registry ..." >&2
    npm install --silent --no-audit --no-fund --prefix "$work/npm" "squawk-cli@${SQUAWK_VERSION:-2.66.0}" >&2
    squawk="$work/npm/node_modules/.bin/squawk"
fi

# Wall time of one run in seconds (exit codes 0/1/5 are findings, not failures).
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$work/out" 2>/dev/null || true
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A runs
for ((r = 0; r < rounds; r++)); do  # interleaved, so load changes hit every command alike
    runs[rollsafe_json]+="$(seconds "$rollsafe" check --format json "$work/big.sql") "
    runs[rollsafe_text]+="$(seconds env NO_COLOR=1 "$rollsafe" check --format text "$work/big.sql") "
    runs[rollsafe_sarif]+="$(seconds "$rollsafe" check --format sarif "$work/big.sql") "
    runs[squawk_json]+="$(seconds "$squawk" --reporter json "$work/big.sql") "
done
declare -A med
for k in "${!runs[@]}"; do med[$k]=$(echo "${runs[$k]}" | tr ' ' '\n' | grep . | median); done
squawk_text="(skipped)"
if [ "${SQUAWK_TEXT_TIMEOUT:-120}" != 0 ]; then
    t=$(seconds timeout "${SQUAWK_TEXT_TIMEOUT:-120}" "$squawk" "$work/big.sql")
    squawk_text=$(printf '%.2f s (one run, timeout %ss)' "$t" "${SQUAWK_TEXT_TIMEOUT:-120}")
fi

printf '%s statements, %s bytes, median of %s interleaved rounds\n' "$statements" "$(wc -c <"$work/big.sql")" "$rounds"
printf '  rollsafe check --format json   %6.3f s\n' "${med[rollsafe_json]}"
printf '  rollsafe check --format text   %6.3f s   (%.2fx rollsafe json; goal <= 1.2x)\n' "${med[rollsafe_text]}" \
    "$(echo "${med[rollsafe_text]} / ${med[rollsafe_json]}" | bc -l)"
printf '  rollsafe check --format sarif  %6.3f s\n' "${med[rollsafe_sarif]}"
printf '  squawk --reporter json         %6.3f s   (rollsafe json is %.2fx of it; goal <= 0.5x)\n' "${med[squawk_json]}" \
    "$(echo "${med[rollsafe_json]} / ${med[squawk_json]}" | bc -l)"
printf '  squawk (text reporter)         %s\n' "$squawk_text"
