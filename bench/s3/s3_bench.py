#!/usr/bin/env python3
"""PUT/GET throughput of thumbflow's S3 endpoint side by side with moto_server.

Every server is measured by the same client, one keep-alive HTTP/1.1 connection per
client, requests signed with SigV4 (UNSIGNED-PAYLOAD, header auth). Two clients:

  --client cpp     (default when built) bench/s3/s3_load, C++: one thread per connection,
                   thumbflow's aws/ signer; costs a few microseconds of CPU per request, so
                   on a small machine it measures the server, not the client.
  --client python  one Python process per connection with a small signer here; on 2 cores
                   16 of them take a large share of the CPU (the figures are then a floor).

Every case runs for --seconds; the PUTs of a case write the objects its GETs read.
--compare-bin adds another thumbflow binary as a column (before/after in one run).

  cmake --build BUILD --target thumbflow s3_load
  python3 bench/s3/s3_bench.py --bin BUILD/src/cli/thumbflow [--seconds 5] [--no-moto]
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import json
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


def run_case_cpp(load_bin, port, method, size, clients, seconds):
    # GETs read key 0 of each client, which the PUT case of the same size wrote.
    cmd = [load_bin, "--port", str(port), "--method", method, "--size", str(size),
           "--clients", str(clients), "--seconds", str(seconds), "--bucket", "bench",
           "--prefix", f"s{size}/", "--keys", "64" if method == "PUT" else "1",
           "--access-key", AK, "--secret-key", SK]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"s3_load failed ({done.returncode}): {done.stderr.strip()}")
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)
    r = json.loads(done.stdout)
    return r["requests_per_s"], r["mb_per_s"], r["errors"]


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
    ap.add_argument("--client", choices=("cpp", "python"),
                    help="load generator (default: cpp when s3_load is built)")
    ap.add_argument("--load-bin", help="s3_load binary (default: beside --bin's build tree)")
    ap.add_argument("--compare-bin", action="append", default=[],
                    help="another thumbflow binary measured in the same run (repeatable)")
    ap.add_argument("--sizes", default="100000,5000000", help="object sizes in bytes")
    ap.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    ap.add_argument("--clients", default="1,16", help="client counts")
    args = ap.parse_args()
    build_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.bin))))
    load_bin = args.load_bin or os.path.join(build_dir, "bench", "s3", "s3_load")
    client = args.client or ("cpp" if os.access(load_bin, os.X_OK) else "python")
    if client == "cpp" and not os.access(load_bin, os.X_OK):
        sys.exit(f"s3_bench: {load_bin} is not built (cmake --build BUILD --target s3_load)")
    print(f"client: {client}" + (f" ({load_bin})" if client == "cpp" else ""), flush=True)
    tmp = tempfile.mkdtemp(prefix="tf-s3bench-")
    servers = []
    for i, binary in enumerate([args.bin] + args.compare_bin):
        port = harness.free_port()
        tf = harness.Peer([binary, "serve", "--data", os.path.join(tmp, f"data{i}"), "--listen",
                           f"127.0.0.1:{port}", "--workers", "0"],
                          env={"THUMBFLOW_ACCESS_KEY_ID": AK, "THUMBFLOW_SECRET_ACCESS_KEY": SK},
                          log_dir=tmp, name=f"thumbflow{i}")
        tf.wait_http(f"http://127.0.0.1:{port}/healthz")
        # thumbflow's default bucket is "images"; create "bench" there too.
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("PUT", "/bench", headers=sign("PUT", f"127.0.0.1:{port}", "/bench",
                                                   datetime.datetime.utcnow()))
        conn.getresponse().read()
        servers.append(("thumbflow" if i == 0 else f"thumbflow ({binary})", port, tf))
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
    rows = []
    try:
        for size in (int(x) for x in args.sizes.split(",")):
            label = f"{size // 1_000_000} MB" if size >= 1_000_000 else f"{size // 1000} KB"
            for clients in (int(x) for x in args.clients.split(",")):
                for method in ("PUT", "GET"):
                    row = [f"{method} {label} x{clients}"]
                    for name, p, _ in servers:
                        if client == "cpp":
                            rps, mbps, errors = run_case_cpp(load_bin, p, method, size, clients,
                                                             args.seconds)
                        else:
                            rps, mbps, errors = run_case(p, method, size, clients, args.seconds)
                        row.append(f"{rps:8.0f} req/s {mbps:7.1f} MB/s" +
                                   (f" ({errors} errors)" if errors else ""))
                    rows.append(row)
                    print(" | ".join(row), flush=True)
    finally:
        for _, _, peer in servers:
            peer.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)  # the 5 MB cases leave gigabytes
    print()
    print("| case | " + " | ".join(n for n, _, _ in servers) + " |")
    print("|---|" + "---|" * len(servers))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
