"""Start a fresh server, open hostile/slow connections of one kind, SIGTERM it, measure time to exit and exit code.
usage: shutdown.py KIND N GRACE"""
import asyncio, subprocess, time, sys, os, json, socket, signal, urllib.request
sys.path.insert(0, os.path.dirname(__file__)); import gql
KIND, N, GRACE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
PORT = 18102; BASE = "http://127.0.0.1:%d" % PORT
env = dict(os.environ, ENVAGIN_ADDR="127.0.0.1:%d" % PORT, ENVAGIN_DATA_DIR="/tmp/adv15r3/data3",
           ENVAGIN_SHUTDOWN_GRACE_SECS=str(GRACE), ENVAGIN_SUBMIT_MAX_PER_ADDRESS="0")
log = open("/tmp/adv15r3/shutdown-%s.log" % KIND, "w")
p = subprocess.Popen(["/tmp/adv15r3/envagin"], env=env, stdout=log, stderr=log)
for _ in range(100):
    try: urllib.request.urlopen(BASE + "/health", timeout=1); break
    except Exception: time.sleep(0.1)
WSREQ = (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
def wsframe(payload, opcode=1):
    mask = os.urandom(4); n = len(payload)
    hdr = bytes([0x80 | opcode, 0x80 | n]) if n < 126 else bytes([0x80 | opcode, 0xFE]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
s, r = gql.submit(BASE, "Gatlampan på Storgatan 3 är trasig"); d = r["data"]["submitRequest"]
SUBQ = wsframe(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": 'subscription { requestEvents(reference: "%s", trackingCode: "%s") { kind status } }' % (d["request"]["reference"], d["trackingCode"])}}).encode())
INIT = wsframe(b'{"type":"connection_init","payload":{}}')
q = json.dumps({"query": "{ __schema { types { name description fields { name description args { name description } } } } }"}).encode()
PIPE = (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(q) + q) * 300
ends = []
async def hostile(t_sig):
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    if KIND == "slowread":
        w.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    async def feed():
        if KIND == "trickle":
            for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000:
                w.write(bytes([b])); await w.drain(); await asyncio.sleep(1)
        elif KIND == "bodystall":
            w.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); await w.drain()
        elif KIND == "wsnoinit": w.write(WSREQ); await w.drain()
        elif KIND == "wshalfframe": w.write(WSREQ + INIT[:4]); await w.drain()
        elif KIND == "wssub":
            w.write(WSREQ); await w.drain(); await asyncio.sleep(0.2); w.write(INIT); await asyncio.sleep(0.2); w.write(SUBQ); await w.drain()
        elif KIND == "slowread": w.write(PIPE); await w.drain()
        elif KIND == "keepalive": w.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); await w.drain()
        await asyncio.sleep(1e9)
    f = asyncio.create_task(feed())
    if KIND == "slowread":
        await asyncio.sleep(1e9)
    data = b""
    try:
        while True:
            c = await r.read(65536)
            if not c: break
            data += c
    except Exception: pass
    ends.append((round(time.monotonic() - t_sig[0], 2) if t_sig[0] else None, data[-60:]))
    f.cancel()
async def main():
    t_sig = [None]
    tasks = [asyncio.create_task(hostile(t_sig)) for _ in range(N)]
    await asyncio.sleep(3)
    t_sig[0] = time.monotonic(); p.send_signal(signal.SIGTERM)
    # is a new connection refused right after SIGTERM?
    await asyncio.sleep(0.5)
    try:
        urllib.request.urlopen(BASE + "/health", timeout=2); newconn = "served"
    except Exception as e: newconn = "refused/failed: " + type(e).__name__
    while p.poll() is None and time.monotonic() - t_sig[0] < GRACE + 30: await asyncio.sleep(0.1)
    exit_t = time.monotonic() - t_sig[0]
    await asyncio.sleep(0.5)
    print(json.dumps({"kind": KIND, "n": N, "grace": GRACE, "exited": p.poll() is not None, "exit_code": p.poll(),
          "exit_after_s": round(exit_t, 2), "new_conn_after_sigterm": newconn,
          "client_conns_ended": len(ends), "end_times": sorted(set(e[0] for e in ends))[:5],
          "last_bytes_sample": ends[0][1].decode("latin1", "replace") if ends else None}))
    if p.poll() is None: p.kill()
    for t in tasks: t.cancel()
asyncio.run(main())
