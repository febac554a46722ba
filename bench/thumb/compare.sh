#!/usr/bin/env bash
# thumbflow against sharp decode-once (issue 14), one command:
#
#   bench/thumb/compare.sh [--rounds N] [--repeat R] [--warmup W] [--jobs "1 2"] [--corpus DIR]
#                          [--build DIR] [--no-in-process] [--no-quality]
# (--no-in-process leaves out the in-process and plain rows)
#
# For each round and each concurrency in --jobs (default 1 and 2), interleaved:
#   thumbflow   build/bench/thumb/thumb_bench (the default configuration: codec helpers)
#   in-process  the same with --mode in-process (libvips in the bench process)
#   plain       the same with --mode plain: a bare decode-once libvips program, no thumbflow
#               code (the floor of this libvips build; not a target)
#   sharp       bench/thumb/sharp_bench.mjs (sharp decode-once, its defaults)
#   thumb-cli   `thumbflow thumb --jobs N` over the corpus as one process (start-up and file
#               writes included), after one untimed process: what a CLI user sees
# then prints the medians of images/s, thumbflow's ratio to sharp, peak RSS, output bytes
# per format, the per-class figures, and a quality check: SSIM/PSNR of every thumbnail
# of both tools against a lanczos3 resize of the full decode (build/bench/thumb/thumb_quality).
# Every raw JSON line is kept in $BENCH_RESULTS (default a temporary file, printed).
# Run it on an idle machine: the load average is printed before and after.
# Needs: a build with THUMBFLOW_BUILD_BENCH (thumb_bench, thumb_quality, thumbflow), node and
# npm (sharp is installed from bench/thumb/package-lock.json by `npm ci` when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=3 repeat=2 warmup=1 jobs_list="1 2" in_process=1 quality=1
build=$root/build
corpus=${BENCH_CORPUS:-$root/bench/corpus/photos}
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --jobs) jobs_list=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --no-in-process) in_process=0; shift ;;
    --no-quality) quality=0; shift ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
done
bench=$build/bench/thumb/thumb_bench
cli=$build/src/cli/thumbflow
for f in "$bench" "$build/bench/thumb/thumb_quality" "$cli"; do
  [[ -x $f ]] || { echo "compare.sh: $f is missing (scripts/build --target thumb_bench thumb_quality thumbflow)" >&2; exit 1; }
done
command -v node >/dev/null || { echo "compare.sh: node is required" >&2; exit 1; }
if [[ ! -d $here/node_modules/sharp ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent) || { echo "compare.sh: npm ci failed" >&2; exit 1; }
fi
"$root/bench/corpus/build.sh" --if-missing "$corpus"
mapfile -t files < <(find "$corpus" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' \) | sort)
work=$(mktemp -d /tmp/thumbflow-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=${BENCH_RESULTS:-$work/results.jsonl}
: >"$results"

echo "compare.sh: ${#files[@]} images in $corpus; $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "compare.sh: thumbflow $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'); vips $(vips --version 2>/dev/null || echo '?')" >&2

# thumb-cli: one process over the corpus; prints a JSON line like the benches' (images/s
# from the wall time, the peak RSS GNU time reports: the largest single process, helpers
# included only as their own maxima).
thumb_cli() {
  local jobs=$1
  rm -rf "$work/cli-out"
  "$cli" thumb --jobs "$jobs" --out "$work/cli-out" "${files[@]}" >/dev/null  # untimed
  rm -rf "$work/cli-out"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/time" "$cli" thumb --jobs "$jobs" --out "$work/cli-out" "${files[@]}" >/dev/null
  end=$(date +%s.%N)
  python3 -c 'import json,sys; n,j,s,e,k=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),int(sys.argv[5]); print(json.dumps({"tool":"thumb-cli","concurrency":j,"images":n,"wall_s":e-s,"images_per_s":n/(e-s),"peak_rss_mib":k/1024}))' \
    "${#files[@]}" "$jobs" "$start" "$end" "$(tail -1 "$work/time")"
}

common=(--corpus "$corpus" --repeat "$repeat" --warmup "$warmup")
for ((r = 1; r <= rounds; r++)); do
  for jobs in $jobs_list; do
    echo "compare.sh: round $r, $jobs in flight (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    "$bench" "${common[@]}" --concurrency "$jobs" >>"$results"
    node "$here/sharp_bench.mjs" "${common[@]}" --concurrency "$jobs" >>"$results"
    if [[ $in_process == 1 ]]; then
      for mode in in-process plain; do
        "$bench" "${common[@]}" --concurrency "$jobs" --mode "$mode" |
          python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["tool"]=d["mode"]; print(json.dumps(d))' >>"$results"
      done
    fi
    thumb_cli "$jobs" >>"$results"
  done
done

if [[ $quality == 1 ]]; then
  "$bench" --corpus "$corpus" --concurrency 2 --repeat 1 --warmup 0 --out "$work/q-thumbflow" >/dev/null
  node "$here/sharp_bench.mjs" --corpus "$corpus" --concurrency 2 --repeat 1 --warmup 0 --out "$work/q-sharp" >/dev/null
  for tool in thumbflow sharp; do
    "$build/bench/thumb/thumb_quality" "$corpus" "$work/q-$tool" |
      python3 -c 'import json,sys; print(json.dumps({"tool":sys.argv[1],"quality":json.loads(sys.stdin.read())}))' "$tool" >>"$results"
  done
fi
echo "compare.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $results" >&2
[[ -n ${BENCH_RESULTS:-} ]] || cp "$results" "/tmp/thumbflow-compare-last.jsonl"

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = [r for r in rows if "images_per_s" in r]
quality = {r["tool"]: r["quality"] for r in rows if "quality" in r}
tools = [t for t in ("thumbflow", "in-process", "plain", "sharp", "thumb-cli") if any(r["tool"] == t for r in runs)]
jobs = sorted({r["concurrency"] for r in runs})
def pick(tool, j): return [r for r in runs if r["tool"] == tool and r["concurrency"] == j]
def med(tool, j, key="images_per_s"):
    v = [r[key] for r in pick(tool, j)]
    return statistics.median(v) if v else float("nan")
print(f"{'tool':12} {'jobs':>4} {'images/s':>9} {'vs sharp':>9} {'peak RSS MiB':>13}")
for j in jobs:
    s = med("sharp", j)
    for t in tools:
        rss = max(r["peak_rss_mib"] for r in pick(t, j))
        print(f"{t:12} {j:>4} {med(t, j):9.2f} {med(t, j) / s:8.2f}x {rss:13.0f}")
print("(images/s: median over rounds; vs sharp: ratio to sharp decode-once at the same jobs;"
      " thumb-cli is a whole `thumbflow thumb` process, start-up and file writes included)")
print()
classes = sorted({c for r in runs if "classes" in r for c in r["classes"]})
print("per class, images/s (median):")
print(f"{'class':10} {'jobs':>4} " + " ".join(f"{t:>11}" for t in tools if t != "thumb-cli") + f" {'tf/sharp':>9}")
for j in jobs:
    for c in classes:
        vals = {}
        for t in tools:
            if t == "thumb-cli": continue
            v = [r["classes"][c]["images_per_s"] for r in pick(t, j) if c in r.get("classes", {})]
            vals[t] = statistics.median(v) if v else float("nan")
        print(f"{c:10} {j:>4} " + " ".join(f"{vals[t]:11.2f}" for t in vals) +
              f" {vals['thumbflow'] / vals['sharp']:8.2f}x")
print()
print("output bytes per format (one pass, all sizes):")
tf = pick("thumbflow", jobs[0])[-1]["bytes"]; sh = pick("sharp", jobs[0])[-1]["bytes"]
for f in sorted(set(tf) | set(sh)):
    a, b = tf.get(f, 0), sh.get(f, 0)
    print(f"  {f:5} thumbflow {a:9} sharp {b:9}  tf/sharp {a / b if b else float('nan'):.3f}")
if quality:
    print()
    print("quality vs a lanczos3 resize of the full decode (mean over thumbnails; higher is better):")
    for t, q in quality.items():
        for f, v in q.items():
            print(f"  {t:9} {f:5} n={v['count']:3} SSIM {v['ssim']:.4f} PSNR {v['psnr']:.2f} dB"
                  f"  (lowest SSIM {v['worst_ssim']:.4f}: {v['worst']})")
PY
