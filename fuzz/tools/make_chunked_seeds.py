#!/usr/bin/env python3
# Usage: fuzz/tools/make_chunked_seeds.py fuzz/corpus/sigv4
# Writes aws-chunked seeds for the sigv4 fuzz target, signed with the SigV4 test suite's key.
import hashlib, hmac, sys
AK, SK = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DATE, DAY, REGION, SERVICE = "20150830T123600Z", "20150830", "us-east-1", "service"
scope = f"{DAY}/{REGION}/{SERVICE}/aws4_request"
def h(b): return hashlib.sha256(b).hexdigest()
def hm(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
key = hm(hm(hm(hm(("AWS4" + SK).encode(), DAY), REGION), SERVICE), "aws4_request")
def build(payload, chunk, trailer):
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    chunks = [payload[i:i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    # body length: compute after signing (content-length is signed: two passes)
    def encode(seed):
        prev, out = seed, b""
        for c in chunks:
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", DATE, scope, prev, h(b""), h(c)])
            sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            out += b"%x;chunk-signature=%s\r\n" % (len(c), sig.encode())
            if c or not trailer:
                out += c + b"\r\n"
            prev = sig
        if trailer:
            line = "x-amz-checksum-crc32:" + trailer
            sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", DATE, scope, prev, h((line + "\n").encode())])
            sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            out += (line + "\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n").encode()
        return out
    body_len = len(encode("0" * 64))
    headers = {"content-encoding": "aws-chunked", "content-length": str(body_len),
               "host": "example.amazonaws.com", "x-amz-content-sha256": mode,
               "x-amz-date": DATE, "x-amz-decoded-content-length": str(len(payload))}
    if trailer: headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    names = sorted(headers)
    creq = "\n".join(["PUT", "/examplebucket/chunked.txt", "",
                      "".join(f"{n}:{headers[n]}\n" for n in names), ";".join(names), mode])
    sts = "\n".join(["AWS4-HMAC-SHA256", DATE, scope, h(creq.encode())])
    seed = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={AK}/{scope}, SignedHeaders={';'.join(names)}, Signature={seed}"
    head = "PUT /examplebucket/chunked.txt HTTP/1.1\r\n" + "".join(
        f"{n}: {headers[n]}\r\n" for n in names) + f"Authorization: {auth}\r\n\r\n"
    return head.encode() + encode(seed)
import zlib, base64
payload = b"hello aws-chunked world, " * 8
crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
open(sys.argv[1] + "/chunked.http", "wb").write(build(payload, 64, None))
open(sys.argv[1] + "/chunked-trailer.http", "wb").write(build(payload, 80, crc))
