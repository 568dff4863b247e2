#!/usr/bin/python3
# notify_listen.py SOCKET SECONDS: a service manager's end of sd_notify(3):
# binds a unix datagram socket at SOCKET ("@name": abstract), prints each
# datagram as one line (newlines as "|"), and ends after STOPPING=1 or
# SECONDS of silence.  The peer's pid (SCM_CREDENTIALS) is printed first.
import socket, sys
path, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.settimeout(secs)
print("bound", flush=True)
while True:
    try:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    except socket.timeout:
        print("timeout", flush=True)
        break
    pid = 0
    for level, kind, d in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = int.from_bytes(d[0:4], "little")
    print(pid, data.decode(errors="replace").replace("\n", "|"), flush=True)
    if b"STOPPING=1" in data:
        break
