#!/usr/bin/env python3
"""
Set one link's MTU in each of many network namespaces, from one process.

A reconcile that changes an encapsulation changes every pod's eth0 MTU and nothing else in
the pods: through iproute2 that is an nsenter and an ip process per pod (about 3 ms of CPU
each, seconds for a 1,000-pod lab). Here each job enters the pod's namespace (setns) and
sends one RTM_NEWLINK (IFLA_IFNAME, IFLA_MTU) on a netlink socket made there, as
`ip link set dev LINK mtu MTU` would. Node.js cannot enter a namespace, hence Python.

Usage: netns-link-mtu.py < JOBS
  JOBS, one a line: "NETNS-PATH LINK MTU" (NETNS-PATH: /run/netns/<name>).
  Prints one line a job, in order: "ok", or "error ERRNO MESSAGE". Exit 0 once every job
  was tried; a failed job is the caller's to retry another way.
"""
import ctypes
import os
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
RTM_NEWLINK = 16
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
IFLA_IFNAME = 3
IFLA_MTU = 4

libc = ctypes.CDLL(None, use_errno=True)


def attribute(kind, data):
    length = 4 + len(data)
    return struct.pack('HH', length, kind) + data + b'\0' * (-length % 4)


def set_mtu(path, link, mtu):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f'setns {path}: {os.strerror(error)}')
    finally:
        os.close(fd)
    # A netlink socket belongs to the namespace it was made in: one a job.
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
        body = struct.pack('BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0)
        body += attribute(IFLA_IFNAME, link.encode() + b'\0') + attribute(IFLA_MTU, struct.pack('I', mtu))
        sock.send(struct.pack('IHHII', 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
        reply = sock.recv(65536)
        kind = struct.unpack('H', reply[4:6])[0]
        code = struct.unpack('i', reply[16:20])[0] if kind == NLMSG_ERROR else 0
        if code != 0:
            raise OSError(-code, f'{link} mtu {mtu}: {os.strerror(-code)}')


def main():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            path, link, mtu = words
            set_mtu(path, link, int(mtu))
            print('ok')
        except (OSError, ValueError) as error:
            print(f'error {getattr(error, "errno", 0) or 0} {error}')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
