#!/usr/bin/python3
"""Benchmark of remote reads: h5mount over s3:// against h5py's ROS3 driver.

Run by scripts/bench_remote.sh WORKDIR (WORKDIR holds the h5mount binary).
Data is generated in WORKDIR, served by versitygw through a latency proxy
(this file, `proxy` mode) that counts requests and bytes. Cases:
  whole   open the file and read one chunked dataset whole
  slices  open the file and read 1,000 random small slices of a dataset
  walk    open the file and visit every object of a file of 10,000 datasets
Environment: BENCH_SCALE (default 1) scales dataset sizes and the number of
datasets of `walk`; BENCH_LATENCY_MS (default 20) is the delay per request.
"""
import http.client
import http.server
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

import h5py
import numpy as np

ACCESS, SECRET, BUCKET, REGION = "benchkey", "benchsecret123", "bench", "us-east-1"


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target, delay):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.target, self.delay = target, delay
        self.lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def stats(self):
        with self.lock:
            return self.requests, self.bytes

    def reset(self):
        with self.lock:
            self.requests, self.bytes = 0, 0

    def handle_error(self, request, client_address):
        # A client closing an idle keep-alive connection is not news; the
        # table, not a traceback, is the output.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path in ("/__stats", "/__reset"):
            srv = self.server
            body = json.dumps(srv.stats()).encode()
            if self.path == "/__reset":
                srv.reset()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.forward()

    def do_HEAD(self):
        self.forward()

    def forward(self):
        srv = self.server
        time.sleep(srv.delay)
        conn = http.client.HTTPConnection(*srv.target)
        # The Host header is part of the S3 signature: pass it on as sent.
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        # A HEAD answer's length is the object's, with no body.
        length = resp.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(body))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        conn.close()
        with srv.lock:
            srv.requests += 1
            srv.bytes += len(body) if self.command != "HEAD" else 0


def stats(endpoint, path):
    conn = http.client.HTTPConnection(endpoint[len("http://"):])
    conn.request("GET", path)
    r = json.loads(conn.getresponse().read())
    conn.close()
    return r


def serve_proxy(target_port, delay):
    p = Proxy(("127.0.0.1", target_port), delay)
    print(p.server_address[1], flush=True)
    p.serve_forever()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("versitygw did not start")


def generate(bucket, scale):
    whole_mib = max(1, int(64 * scale))
    with h5py.File(os.path.join(bucket, "whole.h5"), "w") as f:
        n = whole_mib << 18  # float32 elements
        f.create_dataset("data", data=np.arange(n, dtype="<f4"), chunks=(1 << 18,))
        f.create_dataset("other", data=np.zeros(1 << 16, "<f8"))
    with h5py.File(os.path.join(bucket, "slices.h5"), "w") as f:
        n = max(1 << 20, int(16 * scale * (1 << 20)))  # float32 elements
        f.create_dataset("data", data=np.arange(n, dtype="<f4"), chunks=(16384,))
    count = max(100, int(10000 * scale))
    with h5py.File(os.path.join(bucket, "walk.h5"), "w") as f:
        for i in range(count):
            f.create_dataset("g%03d/d%05d" % (i // 100, i), data=np.arange(10, dtype="<i4") + i)
    return whole_mib << 20, count


def ros3_case(case, url, scale_info):
    t0 = time.perf_counter()
    f = h5py.File(url, "r", driver="ros3", aws_region=REGION.encode(),
                  secret_id=ACCESS.encode(), secret_key=SECRET.encode())
    read = 0
    if case == "whole":
        read = f["data"][()].nbytes
    elif case == "slices":
        ds = f["data"]
        for off in scale_info:
            read += ds[off:off + 10].nbytes
    elif case == "walk":
        seen = []
        f.visititems(lambda name, obj: seen.append(obj.shape if isinstance(obj, h5py.Dataset) else None))
    f.close()
    return time.perf_counter() - t0, read


def mount_case(case, binary, endpoint, key, mnt, scale_info, env):
    t0 = time.perf_counter()
    subprocess.run([binary, "--s3-endpoint", endpoint, "s3://%s/%s" % (BUCKET, key), mnt],
                   check=True, env=env)
    read = 0
    try:
        if case == "whole":
            with open(os.path.join(mnt, "data"), "rb") as fh:
                while True:
                    b = fh.read(1 << 20)
                    if not b:
                        break
                    read += len(b)
        elif case == "slices":
            fd = os.open(os.path.join(mnt, "data"), os.O_RDONLY)
            for off in scale_info:
                read += len(os.pread(fd, 40, off * 4))
            os.close(fd)
        elif case == "walk":
            for root, dirs, files in os.walk(mnt):
                for name in files:
                    os.stat(os.path.join(root, name))
                    os.getxattr(os.path.join(root, name), "user.h5.shape")
        elapsed = time.perf_counter() - t0
    finally:
        subprocess.run([binary, "unmount", mnt], check=True)
    return elapsed, read


def main():
    work = sys.argv[1]
    binary = os.path.join(work, "h5mount")
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    delay = float(os.environ.get("BENCH_LATENCY_MS", "20")) / 1000
    root = os.path.join(work, "s3")
    bucket = os.path.join(root, BUCKET)
    os.makedirs(bucket)
    whole_bytes, ndatasets = generate(bucket, scale)
    with h5py.File(os.path.join(bucket, "slices.h5")) as f:
        n = f["data"].shape[0]
    rng = random.Random(1)
    offsets = [rng.randrange(0, n - 10) for _ in range(1000)]

    port = free_port()
    px = None
    gw = subprocess.Popen(["versitygw", "--port", "127.0.0.1:%d" % port, "--access", ACCESS,
                           "--secret", SECRET, "--quiet", "posix", root],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        # A process of its own: h5py holds the GIL while ROS3 waits on
        # the network, which would stall a proxy thread in this process.
        px = subprocess.Popen([sys.executable, __file__, "proxy", str(port), str(delay)],
                              stdout=subprocess.PIPE, text=True)
        pport = int(px.stdout.readline())
        endpoint = "http://127.0.0.1:%d" % pport
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS, AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true")
        mnt = os.path.join(work, "mnt")
        rows = []
        cases = [("whole", "whole.h5", "read %d MiB dataset whole" % (whole_bytes >> 20)),
                 ("slices", "slices.h5", "1,000 random 40-byte slices"),
                 ("walk", "walk.h5", "walk %d datasets" % ndatasets)]
        for case, key, label in cases:
            res = {}
            for who in ("h5mount", "ros3"):
                stats(endpoint, "/__reset")
                if who == "ros3":
                    t, read = ros3_case(case, "%s/%s/%s" % (endpoint, BUCKET, key), offsets)
                else:
                    t, read = mount_case(case, binary, endpoint, key, mnt, offsets, env)
                req, nbytes = stats(endpoint, "/__stats")
                res[who] = (t, req, nbytes, read)
            rows.append((label, res))
    finally:
        gw.kill()
        gw.wait()
        if px is not None:
            px.kill()
            px.wait()

    print("remote reads: s3:// on a local versitygw, %g ms added per request, BENCH_SCALE=%g" % (delay * 1000, scale))
    print()
    print("| case | h5mount time | ROS3 time | time ratio | h5mount requests | ROS3 requests | request ratio | h5mount fetched/read | ROS3 fetched/read |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, res in rows:
        (ht, hr, hb, hread), (rt, rr, rb, rread) = res["h5mount"], res["ros3"]

        def per(b, r):
            return "%.2f" % (b / r) if r else "%.1f MiB" % (b / 2**20)
        print("| %s | %.2f s | %.2f s | %.2fx | %d | %d | %.2fx | %s | %s |" % (
            label, ht, rt, ht / rt, hr, rr, hr / max(rr, 1), per(hb, hread), per(rb, rread)))
    print()
    print("time ratio and request ratio: h5mount / ROS3 (below 1: h5mount better).")
    print("fetched/read: bytes the server sent per byte the case read (walk reads no data: MiB fetched).")


if __name__ == "__main__":
    if sys.argv[1] == "proxy":
        serve_proxy(int(sys.argv[2]), float(sys.argv[3]))
    else:
        main()
