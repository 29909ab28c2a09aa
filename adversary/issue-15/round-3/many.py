"""Open N hostile connections of one kind (trickle|idle|bodystall|wsnoinit|wsinit) and meanwhile probe
/health and a GraphQL submit+lookup from a normal client every second; report probe latencies
and when the hostile connections were closed."""
import asyncio, time, sys, os, json, urllib.request, statistics
sys.path.insert(0, os.path.dirname(__file__)); import gql
HOST, PORT, KIND, N, DUR = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
BASE = "http://%s:%d" % (HOST, PORT)
WSREQ = (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
INIT = bytes([0x81, 0x80 | 40]) + b"\0\0\0\0" + b'{"type":"connection_init","payload":{}} '[:40]
closed = []; opened = [0]; failed = [0]
async def hostile(i, t0):
    try: r, w = await asyncio.open_connection(HOST, PORT)
    except Exception as e: failed[0] += 1; return
    opened[0] += 1
    async def feed():
        if KIND == "trickle":
            for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000:
                w.write(bytes([b])); await w.drain(); await asyncio.sleep(1)
        elif KIND == "bodystall":
            w.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); await w.drain()
        elif KIND.startswith("ws"):
            w.write(WSREQ); await w.drain()
            if KIND == "wsinit": await asyncio.sleep(0.2); w.write(INIT); await w.drain()
        await asyncio.sleep(1e9)
    f = asyncio.create_task(feed())
    try:
        while await r.read(65536): pass
        closed.append(time.monotonic() - t0)
    except Exception: closed.append(time.monotonic() - t0)
    f.cancel(); w.close()
def probe():
    t = time.monotonic()
    try:
        with urllib.request.urlopen(BASE + "/health", timeout=10) as r: ok = r.status == 200
    except Exception as e: ok = False
    th = time.monotonic() - t; t = time.monotonic()
    try:
        s, r = gql.submit(BASE, "Det är ett stort hål i gatan på Storgatan 5", timeout=10)
        okg = s == 200 and r and r.get("data") and r["data"].get("submitRequest")
        if okg:
            d = r["data"]["submitRequest"]; s2, r2 = gql.status(BASE, d["request"]["reference"], d["trackingCode"])
            okg = bool(r2.get("data") and r2["data"]["request"])
    except Exception: okg = False
    return ok, th, bool(okg), time.monotonic() - t
async def main():
    t0 = time.monotonic()
    tasks = [asyncio.create_task(hostile(i, t0)) for i in range(N)]
    await asyncio.sleep(1)
    res = []
    while time.monotonic() - t0 < DUR:
        res.append(await asyncio.to_thread(probe)); await asyncio.sleep(1)
    print("kind=%s N=%d opened=%d connect_failed=%d" % (KIND, N, opened[0], failed[0]))
    print("hostile closed by server during %.0fs: %d; close times min/median/max: %s" % (DUR, len(closed),
          [round(x, 1) for x in (min(closed), statistics.median(closed), max(closed))] if closed else "-"))
    print("health ok %d/%d, max %.3fs, median %.3fs" % (sum(r[0] for r in res), len(res), max(r[1] for r in res), statistics.median(r[1] for r in res)))
    print("submit+lookup ok %d/%d, max %.3fs, median %.3fs" % (sum(r[2] for r in res), len(res), max(r[3] for r in res), statistics.median(r[3] for r in res)))
    for t in tasks: t.cancel()
asyncio.run(main())
