#!/usr/bin/env bash
# Release builds of the seven Lambda functions and the size of each `bootstrap`.
#   scripts/release-sizes.sh           arm64 (what Lambda runs; needs cargo-lambda with zig)
#   scripts/release-sizes.sh x86_64    the host's target, plain cargo
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-arm64}
functions=(create-verification webhook-ingest fetch-result reconciler notify deliver list-events)
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
target_mib=6

case "$arch" in
  arm64)
    command -v cargo-lambda >/dev/null || { echo "missing: cargo-lambda (pip install cargo-lambda)"; exit 1; }
    cargo lambda build --release --arm64 "${packages[@]}"
    path() { echo "target/lambda/$1/bootstrap"; } ;;
  x86_64)
    cargo build --release "${packages[@]}"
    path() { echo "target/release/$1"; } ;;
  *) echo "usage: $0 [arm64|x86_64]"; exit 2 ;;
esac

budget_file=scripts/size-budget.txt
over_budget=0
printf '%-22s %-8s %12s %10s  %-26s %s\n' function arch bytes MiB "target <= ${target_mib} MiB" "budget (+10% allowed)"
for f in "${functions[@]}"; do
  bytes=$(stat -c %s "$(path "$f")")
  mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
  verdict=$(awk -v b="$bytes" -v t="$target_mib" 'BEGIN { d = b / 1048576 - t; if (d <= 0) printf "ok (%.2f MiB under)", -d; else printf "OVER by %.2f MiB", d }')
  budget=$(awk -v f="$f" '$1 == f { print $2 }' "$budget_file")
  if [ "$arch" = arm64 ] && [ -n "$budget" ]; then
    growth=$(awk -v b="$bytes" -v g="$budget" 'BEGIN { printf "%+.1f%%", (b / g - 1) * 100 }')
    if awk -v b="$bytes" -v g="$budget" 'BEGIN { exit !(b > g * 1.10) }'; then
      budget_verdict="OVER BUDGET ($growth of $budget)"
      over_budget=1
    else
      budget_verdict="ok ($growth of $budget)"
    fi
  else
    budget_verdict="-"
  fi
  printf '%-22s %-8s %12s %10s  %-26s %s\n' "$f" "$arch" "$bytes" "$mib" "$verdict" "$budget_verdict"
done
if [ "$over_budget" = 1 ]; then
  echo "a bootstrap grew more than 10% over its budget in $budget_file"
  exit 1
fi
