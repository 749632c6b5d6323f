#!/usr/bin/env python3
"""
TCP/UDP probes for `netctl lab ping --port`: a listener that runs in a pod's namespace
(started through `ip netns exec`) and a prober whose threads connect from the source pods'
namespaces.

Usage:
  port-probe.py listen tcp|udp IP PORT READY
      Bind IP:PORT and serve until SIGTERM. TCP: accept, send one byte, close.
      UDP: answer every datagram with its own payload. READY is created once bound.
  port-probe.py probe tcp|udp PORT COUNT TIMEOUT < JOBS
      JOBS on stdin, one a line: "NETNS-PATH SOURCE IP" (NETNS-PATH: /run/netns/<pod's>).
      COUNT attempts from SOURCE's namespace to each IP (the jobs in parallel, bounded;
      each job's attempts one after the other), TIMEOUT seconds each. One process for
      every pair: each worker thread enters the source's network namespace (setns applies
      to the calling thread only) before it makes its socket. One JSON line per attempt:
      {"from": "pod-a", "ip": "...", "attempt": 1, "outcome": "ok", "ms": 0.3}
      outcome: ok | refused | timeout (TCP, no SYN-ACK nor RST in time) |
               no-answer (UDP, no reply in time) | unreachable (an ICMP error) | error
"""
import ctypes
import errno
import json
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

PARALLEL = 32
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM}


def listen(protocol, ip, port, ready):
    kind = socket.SOCK_STREAM if protocol == 'tcp' else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ip, port))
        if protocol == 'tcp':
            sock.listen(128)
    except OSError as error:
        print(f'cannot listen on {ip} {protocol}/{port}: {error.strerror}', file=sys.stderr, flush=True)
        sys.exit(1)
    with open(ready, 'w') as f:
        f.write(str(os.getpid()) + '\n')
    while True:
        try:
            if protocol == 'tcp':
                conn, _ = sock.accept()
                try:
                    conn.sendall(b'.')
                except OSError:
                    pass
                conn.close()
            else:
                data, peer = sock.recvfrom(2048)
                sock.sendto(data, peer)
        except OSError as error:
            # A peer that went away between accept and send, a full buffer: keep serving.
            print(f'port-probe listener: {error}', file=sys.stderr, flush=True)


def outcome_of(error):
    if isinstance(error, socket.timeout):
        return 'timeout'
    if isinstance(error, ConnectionRefusedError):
        return 'refused'
    if isinstance(error, OSError) and error.errno in UNREACHABLE:
        return 'unreachable'
    return 'error'


def probe_tcp(ip, port, timeout):
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return 'ok'
    except OSError as error:
        return outcome_of(error)


def probe_udp(ip, port, timeout, attempt):
    payload = f'netctl-probe {os.getpid()} {attempt}'.encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            # Connected: an ICMP port unreachable comes back as ECONNREFUSED on recv.
            sock.connect((ip, port))
            sock.send(payload)
            deadline = time.monotonic() + timeout
            while True:
                if sock.recv(2048) == payload:
                    return 'ok'
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
        except OSError as error:
            result = outcome_of(error)
            return 'no-answer' if result == 'timeout' else result


CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(path):
    """This thread only: its later sockets belong to the namespace at path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, 'setns'):
            os.setns(fd, CLONE_NEWNET)
        elif _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f'setns {path}: {os.strerror(ctypes.get_errno())}')
    finally:
        os.close(fd)


def probe(protocol, port, count, timeout, jobs):
    lock = threading.Lock()

    def one(job):
        netns, source, ip = job
        try:
            enter_netns(netns)
        except OSError as error:
            print(f'port-probe: {source}: {error}', file=sys.stderr, flush=True)
            return
        for attempt in range(1, count + 1):
            began = time.monotonic()
            result = probe_tcp(ip, port, timeout) if protocol == 'tcp' else probe_udp(ip, port, timeout, attempt)
            ms = round((time.monotonic() - began) * 1000, 3)
            with lock:
                print(json.dumps({'from': source, 'ip': ip, 'attempt': attempt, 'outcome': result, 'ms': ms}), flush=True)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(one, jobs))


def main(argv):
    if len(argv) == 5 and argv[0] == 'listen' and argv[1] in ('tcp', 'udp'):
        listen(argv[1], argv[2], int(argv[3]), argv[4])
    elif len(argv) == 5 and argv[0] == 'probe' and argv[1] in ('tcp', 'udp'):
        jobs = [tuple(line.split()) for line in sys.stdin if len(line.split()) == 3]
        probe(argv[1], int(argv[2]), int(argv[3]), float(argv[4]), jobs)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
