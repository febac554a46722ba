#!/usr/bin/env bash
# Thumbnail benchmark (not a test): thumbflow thumb against three peers on the benchmark
# photo corpus, interleaved runs at 1 and 2 images in flight.
#   (a) reference: Node + sharp as the original Lambda (one pipeline per size, Promise.all)
#   (b) sharp decode-once (decode to the largest size, derive the smaller ones)
#   (c) the vipsthumbnail CLI (one invocation per size; it cannot share a decode)
# Prints images/s (median of ROUNDS), thumbflow's ratio to each peer, peak RSS, and output
# bytes per format against sharp's. sharp is installed from npm into a scratch folder
# outside the repo ($BENCH_NODE_DIR, default /tmp/thumbflow-bench-node). The photos are
# $BENCH_CORPUS, default bench/corpus/photos, built by bench/corpus/build.sh when missing.
#
# Usage: bench/thumb/run.sh [--rounds N] [--bin PATH]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=3
bin=${THUMBFLOW_BIN:-$root/build/src/cli/thumbflow}
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--bin PATH]" >&2; exit 2 ;;
  esac
done
corpus=${BENCH_CORPUS:-$root/bench/corpus/photos}
node_dir=${BENCH_NODE_DIR:-/tmp/thumbflow-bench-node}
work=$(mktemp -d /tmp/thumbflow-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

[[ -x $bin ]] || { echo "bench: no thumbflow binary at $bin (build it first)" >&2; exit 1; }
command -v node >/dev/null || { echo "bench: node is required" >&2; exit 1; }
command -v vipsthumbnail >/dev/null || { echo "bench: vipsthumbnail is required" >&2; exit 1; }
if [[ ! -d $node_dir/node_modules/sharp ]]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
   npm install --no-audit --no-fund --silent sharp >/dev/null)
fi
sharp_version=$(cd "$node_dir" && node -e "const s=require('sharp');console.log(s.versions.sharp+' (libvips '+s.versions.vips+')')")

"$root/bench/corpus/build.sh" --if-missing "$corpus"
mapfile -t files < <(ls "$corpus"/*.jpg "$corpus"/*.png "$corpus"/*.webp)
n=${#files[@]}

# vipsthumbnail: one process per size, images in flight via xargs -P; output format kept.
cat > "$work/vipsthumb.sh" <<'SH'
#!/usr/bin/env bash
f=$1; out=$2; base=$(basename "$f")
for s in small:50 medium:150 large:300; do
  name=${s%%:*}; w=${s##*:}
  mkdir -p "$out/$name"
  vipsthumbnail "$f" --size "${w}x" -o "$out/$name/$base" 2>/dev/null
done
SH
chmod +x "$work/vipsthumb.sh"

# run TOOL JOBS OUT: prints "seconds peak_rss_kb".
run() {
  local tool=$1 jobs=$2 out=$3
  rm -rf "$out"; mkdir -p "$out"
  local cmd
  case $tool in
    thumbflow) cmd=("$bin" thumb --jobs "$jobs" --out "$out" "${files[@]}") ;;
    sharp-ref) cmd=(env NODE_PATH="$node_dir/node_modules" node "$here/sharp_peer.js" ref "$jobs" "$out" "${files[@]}") ;;
    sharp-once) cmd=(env NODE_PATH="$node_dir/node_modules" node "$here/sharp_peer.js" once "$jobs" "$out" "${files[@]}") ;;
    vipsthumbnail) cmd=(bash -c 'printf "%s\n" "${@:3}" | xargs -P "$1" -I{} "$0" {} "$2"' "$work/vipsthumb.sh" "$jobs" "$out" "${files[@]}") ;;
  esac
  /usr/bin/time -f "%e %M" -o "$work/time" "${cmd[@]}" >/dev/null
  cat "$work/time"
}

tools=(thumbflow sharp-ref sharp-once vipsthumbnail)
declare -A secs rss
for ((r = 1; r <= rounds; r++)); do
  for jobs in 1 2; do
    for tool in "${tools[@]}"; do
      read -r s m < <(run "$tool" "$jobs" "$work/out-$tool")
      secs[$tool,$jobs]+="$s "
      [[ ${rss[$tool,$jobs]:-0} -ge $m ]] || rss[$tool,$jobs]=$m
    done
  done
done

median() { printf "%s\n" $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "bench-corpus: $n images; sharp $sharp_version; vips $(vips --version); rounds $rounds; $(nproc) cores"
printf "%-14s %6s %10s %12s %12s %12s %12s\n" tool jobs images/s "tf/this" "peak RSS MB" "" ""
for jobs in 1 2; do
  tf=$(median "${secs[thumbflow,$jobs]}")
  for tool in "${tools[@]}"; do
    s=$(median "${secs[$tool,$jobs]}")
    ips=$(awk -v n="$n" -v s="$s" 'BEGIN {printf "%.1f", n / s}')
    ratio=$(awk -v a="$s" -v b="$tf" 'BEGIN {printf "%.2fx", a / b}')
    mb=$(awk -v k="${rss[$tool,$jobs]}" 'BEGIN {printf "%.0f", k / 1024}')
    printf "%-14s %6s %10s %12s %12s\n" "$tool" "$jobs" "$ips" "$ratio" "$mb"
  done
done
echo "(tf/this: thumbflow's speed relative to that tool; >1 means thumbflow is faster)"

# Output bytes by format, from the last round's outputs.
bytes_by_ext() {
  find "$1" -type f | awk -F. '{e=tolower($NF)} {print e}' | sort -u | while read -r ext; do
    echo "$ext $(find "$1" -type f -iname "*.$ext" -printf "%s\n" | awk '{s+=$1} END {print s}')"
  done
}
echo
echo "output bytes by format (all sizes):"
printf "%-6s %12s %12s %12s %12s %10s\n" format thumbflow sharp-once sharp-ref vipsthumb "tf/once"
for ext in jpg png webp; do
  t=$(find "$work/out-thumbflow" -type f -iname "*.$ext" -printf "%s\n" | awk '{s+=$1} END {print s+0}')
  o=$(find "$work/out-sharp-once" -type f -iname "*.$ext" -printf "%s\n" | awk '{s+=$1} END {print s+0}')
  a=$(find "$work/out-sharp-ref" -type f -iname "*.$ext" -printf "%s\n" | awk '{s+=$1} END {print s+0}')
  v=$(find "$work/out-vipsthumbnail" -type f -iname "*.$ext" -printf "%s\n" | awk '{s+=$1} END {print s+0}')
  printf "%-6s %12s %12s %12s %12s %10s\n" "$ext" "$t" "$o" "$a" "$v" \
    "$(awk -v a="$t" -v b="$o" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')"
done
