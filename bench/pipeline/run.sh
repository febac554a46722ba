#!/usr/bin/env bash
# Pipeline benchmark (not a test): thumbflow end to end, side by side with the reference
# implementation, in one invocation so the ratios come from the same machine state.
#
#   bench/pipeline/run.sh [--images N] [--workers W] [--rounds R] [--latency-runs K]
#                         [--sides serve,reference,worker[,serve-nofsync]] [--bin PATH]
#
# Rows (every peer on 127.0.0.1 with free ports, stopped by PID, scratch dirs removed):
#   thumbflow serve   embedded: uploads through its S3 endpoint, W workers
#   reference         moto_server set up as the reference architecture (uploads/ notification
#                     to an SQS queue, visibility 60 s, DLQ after 3 receives) consumed by a
#                     Node + sharp script doing what the original Lambda does
#                     (reference_consumer.js), W images in flight
#   thumbflow worker  the same moto set-up consumed by `thumbflow worker --workers W`
#                     (the consumer alone, apples to apples with the reference)
#   serve-nofsync     only when asked for: serve with [storage] fsync = false, a diagnostic
#                     of what the durability of every output costs on this disk
# Prints images/s for N uploads of the benchmark photos (default 68: the corpus twice) from
# first PUT to last thumbnail written, the ratio to the reference, per-image latency p50/p99
# in that burst, and the latency of one 2 MP JPEG into each idle side (K runs, default 30).
# Details of what is timed: bench/pipeline/e2e_bench.py. W defaults to the core count
# (thumbflow's default worker count).
#
# sharp and the AWS SDK v3 (@aws-sdk/client-s3, @aws-sdk/client-sqs) are installed from npm
# into a scratch folder outside the repo ($BENCH_NODE_DIR, default /tmp/thumbflow-bench-node,
# shared with bench/thumb/run.sh). Needs node, moto_server and python3 with boto3. The photos
# are $BENCH_CORPUS, default bench/corpus/photos, built by bench/corpus/build.sh when missing.
#
# The pipeline's overhead over the bare thumbnailer is the other benchmark here:
#   build/bench/pipeline/pipeline_bench --workers 2 --rounds 4   (from the repository root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${THUMBFLOW_BIN:-$root/build/src/cli/thumbflow}
node_dir=${BENCH_NODE_DIR:-/tmp/thumbflow-bench-node}
corpus=${BENCH_CORPUS:-$root/bench/corpus/photos}
args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --images | --workers | --rounds | --latency-runs | --sides) args+=("$1" "$2"); shift 2 ;;
    *) echo "usage: $0 [--images N] [--workers W] [--rounds R] [--latency-runs K]" \
            "[--sides serve,reference,worker[,serve-nofsync]] [--bin PATH]" >&2; exit 2 ;;
  esac
done

[[ -x $bin ]] || { echo "bench: no thumbflow binary at $bin (build it first)" >&2; exit 1; }
for tool in node npm moto_server python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
missing=()
for pkg in sharp @aws-sdk/client-s3 @aws-sdk/client-sqs; do
  [[ -d $node_dir/node_modules/$pkg ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
   npm install --no-audit --no-fund --silent "${missing[@]}" >/dev/null)
fi
echo "thumbflow $bin; sharp $(cd "$node_dir" && node -e \
  "const s=require('sharp');console.log(s.versions.sharp+' (libvips '+s.versions.vips+')')");" \
  "node $(node --version); vips $(vips --version 2>/dev/null || echo '?')"
export AWS_EC2_METADATA_DISABLED=true
cd "$root"
"$root/bench/corpus/build.sh" --if-missing "$corpus"
exec python3 "$here/e2e_bench.py" --bin "$bin" --node-dir "$node_dir" --corpus "$corpus" "${args[@]}"
