"""The queue benchmark's flow (send -> receive -> delete; single calls and batches of 10;
1 and 4 threads) through moto_server's SQS with boto3, for comparison with queue_bench.

    python3 bench/queue/sqs_moto_bench.py [--seconds S]

Starts moto_server on 127.0.0.1 (a free port) and stops it by PID. Prints one JSON line per
scenario, in the same shape as queue_bench.
"""
import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration"))
from harness import moto_server  # noqa: E402

import boto3  # noqa: E402

SCENARIOS = [
    ("single_1_thread", 1, 1, False),
    ("single_4_threads", 4, 1, False),
    ("batch10_1_thread", 1, 10, False),
    ("batch10_4_threads", 4, 10, False),
    ("send_only_single_4_threads", 4, 1, True),
]


def client(endpoint):
    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def flow_once(sqs, url, batch, send_only):
    body = "x" * 200
    if batch == 1:
        sqs.send_message(QueueUrl=url, MessageBody=body)
        if send_only:
            return 1
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got)
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": body} for i in range(batch)])
    if send_only:
        return batch
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch).get("Messages", [])
    if got:
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    return len(got)


def run(endpoint, name, threads, batch, send_only, seconds):
    admin = client(endpoint)
    url = admin.create_queue(QueueName=f"bench-{name}",
                             Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    stop = threading.Event()
    counts = [0] * threads
    errors = []

    def worker(i):
        sqs = client(endpoint)
        try:
            while not stop.is_set():
                counts[i] += flow_once(sqs, url, batch, send_only)
        except Exception as e:  # reported below
            errors.append(repr(e))

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    admin.delete_queue(QueueUrl=url)
    messages = sum(counts)
    print(json.dumps({"impl": "moto-sqs", "scenario": name, "threads": threads, "batch": batch,
                      "flow": "send" if send_only else "send-receive-delete",
                      "messages": messages, "seconds": round(elapsed, 2),
                      "msg_per_s": round(messages / elapsed), "errors": errors[:1]}),
          flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with moto_server() as (endpoint, _env):
        for name, threads, batch, send_only in SCENARIOS:
            run(endpoint, name, threads, batch, send_only, args.seconds)


if __name__ == "__main__":
    main()
