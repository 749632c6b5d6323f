#!/usr/bin/env python3
"""
flannel's udp backend for a netctl lab node: the userspace forwarder behind flannel0.

Every IP packet the node routes into the TUN device flannel0 is read here and sent as
the payload of a UDP datagram to port 8285 of the node that owns the destination's
subnet; every datagram arriving on 8285 is written back into flannel0 for the kernel to
deliver. Like flanneld's proxy it counts as a router hop both ways (TTL - 1 on each side).
A packet for a subnet no node owns is dropped (flanneld answers it with an ICMP error
sourced from flannel0's own address, which the kernel then drops as a martian).

Node.js cannot attach to a TUN device (that takes the TUNSETIFF ioctl), hence Python.

Usage: flannel-udp-proxy.py CONFIG.json  (netctl writes it; SIGHUP re-reads the routes)
  {"tun": "flannel0", "listen": "172.17.0.32", "port": 8285,
   "routes": [{"subnet": "10.244.1.0/24", "node": "172.17.0.40"}], "ready": "/path"}
"""
import fcntl
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
BUFFER = 65535


def create_tun(name):
    """Made here, as flanneld makes it: it lives as long as this process holds it, and as its
    carrier never changes, the kernel reports it "state UNKNOWN" once netctl sets it up."""
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def load_routes(config):
    """Longest prefix first, as (network, mask, (node, port))."""
    routes = []
    for route in config['routes']:
        net = ipaddress.IPv4Network(route['subnet'])
        routes.append((int(net.network_address), int(net.netmask), (route['node'], config['port'])))
    return sorted(routes, key=lambda r: -r[1])


def next_hop(routes, packet):
    if len(packet) < 20 or packet[0] >> 4 != 4:  # flannel0 carries IPv4 only (the kernel may try IPv6 there)
        return None
    dst = int.from_bytes(packet[16:20], 'big')
    for network, mask, hop in routes:
        if dst & mask == network:
            return hop
    return None


def decrement_ttl(packet):
    """TTL - 1 with the header checksum patched in place (RFC 1624); False when it runs out."""
    if packet[8] <= 1:
        return False
    packet[8] -= 1
    check = int.from_bytes(packet[10:12], 'big') + 0x100
    packet[10:12] = ((check & 0xFFFF) + (check >> 16)).to_bytes(2, 'big')
    return True


def main():
    config_path = sys.argv[1]
    with open(config_path) as f:
        config = json.load(f)
    state = {'routes': load_routes(config)}

    def reload(_signum, _frame):
        with open(config_path) as f:
            state['routes'] = load_routes(json.load(f))

    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(0))

    tun = create_tun(config['tun'])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # The node's address may not be on eth0 yet: the proxy starts before netctl wires the node.
    sock.setsockopt(socket.IPPROTO_IP, getattr(socket, 'IP_FREEBIND', 15), 1)
    sock.bind((config['listen'], config['port']))
    sock.setblocking(False)
    with open(config['ready'], 'w') as f:
        f.write(f'{os.getpid()}\n')

    poller = select.poll()
    poller.register(tun, select.POLLIN)
    poller.register(sock, select.POLLIN)
    while True:
        events = poller.poll()  # a signal (SIGHUP) interrupts it and it resumes (PEP 475)
        if any(fd == tun and mask & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for fd, mask in events):
            sys.exit(f'{config["tun"]} went away')
        # Drain both sides before polling again, as flanneld's proxy does.
        busy = True
        while busy:
            busy = False
            try:
                packet = bytearray(os.read(tun, BUFFER))
                busy = True
                hop = next_hop(state['routes'], packet)
                if hop is not None and decrement_ttl(packet):
                    sock.sendto(packet, hop)
            except BlockingIOError:
                pass
            except OSError as error:  # a peer's port unreachable, a full buffer: that packet is lost
                print(f'tun -> udp: {error}', file=sys.stderr, flush=True)
            try:
                packet = bytearray(sock.recv(BUFFER))
                busy = True
                if len(packet) >= 20 and decrement_ttl(packet):
                    os.write(tun, packet)
            except BlockingIOError:
                pass
            except OSError as error:
                print(f'udp -> tun: {error}', file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
