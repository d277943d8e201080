#!/usr/bin/env bash
# sandboxctl start-up against kubectl, measured in one run (docs/sandboxctl.md#start-up).
#
#   bench/cli-startup.sh                 # build and publish, then measure
#   RUNS=20 bench/cli-startup.sh         # more runs per command (default 10)
#   SKIP_BUILD=1 bench/cli-startup.sh    # measure what artifacts/cli-startup/ already holds
#
# Variants: `dotnet sandboxctl.dll` (framework-dependent, what `dotnet pack` ships as the dotnet tool) and the
# self-contained single file `dotnet publish src/Sandboxctl -c Release -r RID` makes (ReadyToRun). Each command is run
# RUNS times after one warm-up; the median wall time is printed with its ratio to `kubectl version --client` measured
# in the same run, and the load average before and after (the numbers mean little on a busy machine).
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${RUNS:-10}"
out="artifacts/cli-startup"
rid="$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    dotnet build src/Sandboxctl/Sandboxctl.csproj -c Release -o "$out/fdd" >/dev/null
    dotnet publish src/Sandboxctl/Sandboxctl.csproj -c Release -r "$rid" -o "$out/single-file" >/dev/null
fi

# The median wall time in milliseconds of RUNS runs of "$@" (stdout and stderr discarded), after one warm-up.
median_ms() {
    "$@" >/dev/null 2>&1 || true
    local times=()
    for ((i = 0; i < runs; i++)); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        times+=($(((end - start) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}

report() {
    local name="$1"
    shift
    local ms
    ms=$(median_ms "$@")
    if [[ -n "${kubectl_ms:-}" ]]; then
        printf '%-58s %9s ms %7s x kubectl\n' "$name" "$ms" "$(awk -v a="$ms" -v b="$kubectl_ms" 'BEGIN { printf "%.2f", a / b }')"
    else
        printf '%-58s %9s ms\n' "$name" "$ms"
    fi
}

echo "sandboxctl start-up, median of $runs runs ($(nproc) cores, $rid, $(date -u +%Y-%m-%dT%H:%MZ))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v kubectl >/dev/null; then
    kubectl_ms=$(median_ms kubectl version --client)
    printf '%-58s %9s ms\n' "kubectl version --client" "$kubectl_ms"
else
    echo "kubectl not found: no ratios"
fi

variants=("dotnet sandboxctl.dll (framework-dependent):dotnet $out/fdd/sandboxctl.dll"
          "single file (self-contained, ReadyToRun):$out/single-file/sandboxctl")
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
