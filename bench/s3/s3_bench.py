#!/usr/bin/env python3
"""PUT/GET throughput of thumbflow's S3 endpoint side by side with moto_server.

Each client is its own process with one keep-alive HTTP/1.1 connection; requests are
signed with SigV4 (UNSIGNED-PAYLOAD, as presigned and many SDK uploads are) by a small
signer here, so the client side costs little next to the server. Every case runs for
--seconds; PUTs of case N are the objects its GETs read.

  python3 bench/s3/s3_bench.py --bin build-server/src/cli/thumbflow [--seconds 5]
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
import harness  # noqa: E402

AK, SK = "BENCHACCESSKEY000001", "bench-secret-0123456789abcdefghijklmnopqr"


def sign(method, host, path, now):
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz[:8]
    scope = f"{date}/us-east-1/s3/aws4_request"
    headers = {"host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/~"), "",
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed,
                           "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SK).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={AK}/{scope}, "
                                f"SignedHeaders={signed}, Signature={sig}")
    return headers


def client(args):
    port, method, size, seconds, wid, start_at, out = args
    host = f"127.0.0.1:{port}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = os.urandom(size) if method == "PUT" else None
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    n = 0
    nbytes = 0
    errors = 0
    while time.time() < end:
        # GETs read the first object this client PUT in the PUT case (always written).
        key = f"/bench/c{wid}-{n % 64 if method == 'PUT' else 0}-{size}"
        headers = sign(method, host, key, datetime.datetime.utcnow())
        conn.request(method, key, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            errors += 1
            if errors == 1:
                print(f"{method} {key}: {r.status} {data[:300]!r}", file=sys.stderr)
        else:
            nbytes += size
        n += 1
    out.put((n, nbytes, errors, time.time() - start_at))


def run_case(port, method, size, clients, seconds):
    out = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=client, args=((port, method, size, seconds, w, start_at, out),))
             for w in range(clients)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    n = sum(r[0] for r in results)
    nbytes = sum(r[1] for r in results)
    errors = sum(r[2] for r in results)
    elapsed = max(r[3] for r in results)
    return n / elapsed, nbytes / elapsed / 1e6, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=harness.BIN)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--no-moto", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tf-s3bench-")
    servers = []
    port = harness.free_port()
    tf = harness.Peer([args.bin, "serve", "--data", os.path.join(tmp, "data"), "--listen",
                       f"127.0.0.1:{port}", "--workers", "0"],
                      env={"THUMBFLOW_ACCESS_KEY_ID": AK, "THUMBFLOW_SECRET_ACCESS_KEY": SK},
                      log_dir=tmp, name="thumbflow")
    tf.wait_http(f"http://127.0.0.1:{port}/healthz")
    servers.append(("thumbflow", port, tf))
    if not args.no_moto and shutil.which("moto_server"):
        mport = harness.free_port()
        moto = harness.Peer(["moto_server", "-H", "127.0.0.1", "-p", str(mport)],
                            env=harness.MOTO_ENV, log_dir=tmp, name="moto")
        moto.wait_http(f"http://127.0.0.1:{mport}/moto-api/", timeout=60)
        conn = http.client.HTTPConnection("127.0.0.1", mport)
        conn.request("PUT", "/bench", headers=sign("PUT", f"127.0.0.1:{mport}", "/bench",
                                                   datetime.datetime.utcnow()))
        conn.getresponse().read()
        servers.append(("moto", mport, moto))
    # thumbflow's default bucket is "images"; create "bench" there too.
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("PUT", "/bench", headers=sign("PUT", f"127.0.0.1:{port}", "/bench",
                                               datetime.datetime.utcnow()))
    r = conn.getresponse()
    r.read()
    rows = []
    try:
        for size, label in ((100_000, "100 KB"), (5_000_000, "5 MB")):
            for clients in (1, 16):
                for method in ("PUT", "GET"):
                    row = [f"{method} {label} x{clients}"]
                    for name, p, _ in servers:
                        rps, mbps, errors = run_case(p, method, size, clients, args.seconds)
                        row.append(f"{rps:8.0f} req/s {mbps:7.1f} MB/s" +
                                   (f" ({errors} errors)" if errors else ""))
                    rows.append(row)
                    print(" | ".join(row), flush=True)
    finally:
        for _, _, peer in servers:
            peer.stop()
    print()
    print("| case | " + " | ".join(n for n, _, _ in servers) + " |")
    print("|---|" + "---|" * len(servers))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
