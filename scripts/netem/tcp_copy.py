#!/usr/bin/env python3
"""A plain TCP copy: the TCP peer of the rlnc transfer benchmark (scripts/bench-rlnc-transfer.sh).

  tcp_copy.py recv PORT [--log FILE]
      accepts one connection, reads to the end, answers with the byte count and SHA-256; with --log writes
      "unix_time cumulative_bytes" every 100 ms.
  tcp_copy.py send HOST PORT (FILE | --seconds N) --cc cubic|bbr
      connects with that congestion control (TCP_CONGESTION on the socket), sends the file with sendfile()
      (or zeros for N seconds), waits for the answer and prints one JSON line: bytes, seconds (connect to
      answer), sha256, cc.
"""
import hashlib
import json
import os
import socket
import sys
import time


def recv(port, log_path):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(1)
    conn, _ = server.accept()
    digest = hashlib.sha256()
    total = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    log = open(log_path, "w", buffering=1) if log_path else None
    next_log = time.time()
    while True:
        n = conn.recv_into(buf)
        if n == 0:
            break
        digest.update(view[:n])
        total += n
        if log and time.time() >= next_log:
            log.write(f"{time.time():.3f} {total}\n")
            next_log += 0.1
    if log:
        log.write(f"{time.time():.3f} {total}\n")
        log.close()
    conn.sendall(f"{total} {digest.hexdigest()}\n".encode())
    conn.close()


def send(host, port, source, seconds, cc):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())
    start = time.monotonic()
    sock.connect((host, port))
    if seconds is None:
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            sent = 0
            while sent < size:
                sent += sock.sendfile(f, sent, size - sent)
    else:
        zeros = bytes(1 << 20)
        until = start + seconds
        while time.monotonic() < until:
            sock.sendall(zeros)
    sock.shutdown(socket.SHUT_WR)
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            break
        answer += chunk
    elapsed = time.monotonic() - start
    total, sha = answer.decode().split()
    print(json.dumps({"bytes": int(total), "seconds": elapsed, "sha256": sha, "cc": cc}))


def main(args):
    if args[:1] == ["recv"] and len(args) in (2, 4):
        recv(int(args[1]), args[3] if len(args) == 4 and args[2] == "--log" else None)
    elif args[:1] == ["send"] and len(args) == 6 and args[4] == "--cc":
        send(args[1], int(args[2]), args[3], None, args[5])
    elif args[:1] == ["send"] and len(args) == 7 and args[3] == "--seconds" and args[5] == "--cc":
        send(args[1], int(args[2]), None, float(args[4]), args[6])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
