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

# One run: prints "wall cpu" in seconds (cpu = user + system, which a busy machine inflates less;
# exit codes 0/1/5 are findings, not failures).
measure() {
    /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >"$work/out" 2>/dev/null || true
    tail -n 1 "$work/time" | awk '{printf "%s %.3f", $1, $2 + $3}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A wall cpu
for ((r = 0; r < rounds; r++)); do  # interleaved, so load changes hit every command alike
    for k in rollsafe_json rollsafe_text rollsafe_sarif squawk_json; do
        case $k in
            rollsafe_json) m=$(measure "$rollsafe" check --format json "$work/big.sql") ;;
            rollsafe_text) m=$(measure env NO_COLOR=1 "$rollsafe" check --format text "$work/big.sql") ;;
            rollsafe_sarif) m=$(measure "$rollsafe" check --format sarif "$work/big.sql") ;;
            squawk_json) m=$(measure "$squawk" --reporter json "$work/big.sql") ;;
        esac
        wall[$k]+="${m% *} "
        cpu[$k]+="${m#* } "
    done
done
declare -A w c
for k in "${!wall[@]}"; do
    w[$k]=$(echo "${wall[$k]}" | tr ' ' '\n' | grep . | median)
    c[$k]=$(echo "${cpu[$k]}" | tr ' ' '\n' | grep . | median)
done
squawk_text="(skipped)"
if [ "${SQUAWK_TEXT_TIMEOUT:-120}" != 0 ]; then
    m=$(measure timeout "${SQUAWK_TEXT_TIMEOUT:-120}" "$squawk" "$work/big.sql")
    squawk_text=$(printf 'wall %.2f s, cpu %.2f s (one run, timeout %ss)' "${m% *}" "${m#* }" "${SQUAWK_TEXT_TIMEOUT:-120}")
fi
ratio() { echo "$1 / $2" | bc -l; }

printf '%s statements, %s bytes, median of %s interleaved rounds; load average %s\n' "$statements" \
    "$(wc -c <"$work/big.sql")" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-32s %8s %8s\n' "" "wall s" "cpu s"
for k in rollsafe_json rollsafe_text rollsafe_sarif squawk_json; do
    printf '  %-32s %8.3f %8.3f\n' "$k" "${w[$k]}" "${c[$k]}"
done
printf '  %-32s %s\n' "squawk (text reporter)" "$squawk_text"
printf 'rollsafe text / rollsafe json: wall %.2fx, cpu %.2fx (goal <= 1.2x)\n' \
    "$(ratio "${w[rollsafe_text]}" "${w[rollsafe_json]}")" "$(ratio "${c[rollsafe_text]}" "${c[rollsafe_json]}")"
printf 'rollsafe json / squawk json:   wall %.2fx, cpu %.2fx (goal <= 0.5x)\n' \
    "$(ratio "${w[rollsafe_json]}" "${w[squawk_json]}")" "$(ratio "${c[rollsafe_json]}" "${c[squawk_json]}")"
