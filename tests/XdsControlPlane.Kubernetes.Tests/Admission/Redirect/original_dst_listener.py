"""Test helper: a TCP listener on [::]:PORT (dual stack) that prints, for each accepted connection, the destination
the client dialled before iptables REDIRECTed it (SO_ORIGINAL_DST, as Envoy's original_dst listener filter reads it).
Writes READY to the file given once listening, and exits at the first connection dialled to PORT itself (not
redirected: the harness's sign that every connection before it has been accepted and printed)."""
import socket
import struct
import sys

SO_ORIGINAL_DST = 80
IP6T_SO_ORIGINAL_DST = 80

port, ready = int(sys.argv[1]), sys.argv[2]
server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("::", port))
server.listen(16)
with open(ready, "w") as f:
    f.write("READY\n")
while True:
    conn, peer = server.accept()
    host = peer[0]
    if host.startswith("::ffff:"):
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        dport = struct.unpack_from("!H", raw, 2)[0]
        dhost = socket.inet_ntop(socket.AF_INET, raw[4:8])
    else:
        raw = conn.getsockopt(socket.IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, 28)
        dport = struct.unpack_from("!H", raw, 2)[0]
        dhost = socket.inet_ntop(socket.AF_INET6, raw[8:24])
    conn.close()
    if dport == port:
        break
    print(f"ACCEPTED {dhost} {dport}", flush=True)
