# Slow request bodies/headers over HTTP: how long does the server keep each connection? (TIMEOUT=5)
# usage: python3 slowloris.py PORT CONNS SECS
import socket, sys, time, threading
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
res = {}
def one(i, mode):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(1)
    t0 = time.time()
    if mode == "body":
        s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
    else:
        s.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
    closed = None
    while time.time() - t0 < secs:
        try:
            s.sendall(b" " if mode == "body" else b"X-a: b\r\n")
            d = s.recv(200)
            if d == b"": closed = "closed"; break
            else: closed = d[:40]; break
        except socket.timeout: pass
        except OSError as e: closed = type(e).__name__; break
    res[(mode, i)] = (round(time.time() - t0, 1), closed)
ts = [threading.Thread(target=one, args=(i, m)) for i in range(n) for m in ("body", "headers")]
[t.start() for t in ts]; [t.join() for t in ts]
from collections import Counter
print(Counter((m, r) for (m, _), r in res.items()))
