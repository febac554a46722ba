#!/bin/sh
# Side-by-side: the embedded queue (queue_bench) and moto_server's SQS (boto3), same flow,
# same machine. Usage: bench/queue/run.sh BUILD_DIR [SECONDS]
set -eu
build=${1:?usage: bench/queue/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
"$build/bench/queue/queue_bench" --seconds "$seconds"
python3 "$here/sqs_moto_bench.py" --seconds "$seconds"
