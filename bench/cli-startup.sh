#!/usr/bin/env bash
# sandboxctl start-up against kubectl, measured in one run (docs/sandboxctl.md#start-up).
#
#   bench/cli-startup.sh                 # build and publish, then measure
#   RUNS=20 bench/cli-startup.sh         # more runs per command (default 10)
#   SKIP_BUILD=1 bench/cli-startup.sh    # measure what artifacts/cli-startup/ already holds
#   BASELINE="/tmp/old/sandboxctl;dotnet /tmp/old-fdd/sandboxctl.dll" bench/cli-startup.sh
#                                        # also time other builds (before and after in one run; ';' between them)
#
# Variants: `dotnet sandboxctl.dll` (framework-dependent, what `dotnet pack` ships as the dotnet tool) and the
# self-contained single file `dotnet publish src/Sandboxctl -c Release -r RID` makes (ReadyToRun). Each command is run
# RUNS times after one warm-up; the median wall time is printed with its ratio to `kubectl version --client` measured
# in the same run, the median CPU time (user + system), and the load average before and after (wall times mean little
# on a busy machine; CPU times less so).
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${RUNS:-10}"
out="artifacts/cli-startup"
rid="$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    dotnet build src/Sandboxctl/Sandboxctl.csproj -c Release -o "$out/fdd" >/dev/null
    dotnet publish src/Sandboxctl/Sandboxctl.csproj -c Release -r "$rid" -o "$out/single-file" >/dev/null
fi

# The median wall time and the median CPU time (user + system) in milliseconds of RUNS runs of "$@" (stdout and
# stderr discarded), after one warm-up, as "WALL CPU". CPU time says more than wall time on a busy machine.
median_ms() {
    "$@" >/dev/null 2>&1 || true
    local walls=() cpus=() TIMEFORMAT='%R %U %S' timing
    for ((i = 0; i < runs; i++)); do
        timing=$({ time "$@" >/dev/null 2>&1 || true; } 2>&1)
        read -r real user sys <<<"$timing"
        walls+=("$real")
        cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")
    done
    printf '%s %s\n' "$(median "${walls[@]}")" "$(median "${cpus[@]}")"
}

# The median of seconds "$@", in milliseconds with one decimal.
median() {
    printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m * 1000 }'
}

report() {
    local name="$1"
    shift
    local wall cpu
    read -r wall cpu <<<"$(median_ms "$@")"
    if [[ -n "${kubectl_ms:-}" ]]; then
        printf '%-58s %9s ms %7s x kubectl %9s ms CPU\n' "$name" "$wall" "$(awk -v a="$wall" -v b="$kubectl_ms" 'BEGIN { printf "%.2f", a / b }')" "$cpu"
    else
        printf '%-58s %9s ms %9s ms CPU\n' "$name" "$wall" "$cpu"
    fi
}

echo "sandboxctl start-up, median of $runs runs ($(nproc) cores, $rid, $(date -u +%Y-%m-%dT%H:%MZ))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v kubectl >/dev/null; then
    read -r kubectl_ms kubectl_cpu <<<"$(median_ms kubectl version --client)"
    printf '%-58s %9s ms %17s %9s ms CPU\n' "kubectl version --client" "$kubectl_ms" "" "$kubectl_cpu"
else
    echo "kubectl not found: no ratios"
fi

variants=("dotnet sandboxctl.dll (framework-dependent):dotnet $out/fdd/sandboxctl.dll"
          "single file (self-contained, ReadyToRun):$out/single-file/sandboxctl")
if [[ -n "${BASELINE:-}" ]]; then
    IFS=';' read -r -a baselines <<<"$BASELINE"
    for baseline in "${baselines[@]}"; do
        variants+=("baseline $baseline:$baseline")
    done
fi
for variant in "${variants[@]}"; do
    label="${variant%%:*}"
    read -r -a cli <<<"${variant#*:}"
    echo "-- $label"
    report "  --version" "${cli[@]}" --version
    report "  completion bash" "${cli[@]}" completion bash
    report "  [suggest] (TAB after 'sandboxctl r')" "${cli[@]}" "[suggest:12]" "sandboxctl r"
    report "  render -f examples/shop" "${cli[@]}" render -f examples/shop
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
