"""WebSocket /graphql/ws (graphql-transport-ws): upgrade, then (a) never send connection_init,
(b) init then idle, (c) half a frame then stall, (d) init + subscribe to a nonexistent request then idle.
Logs every frame the server sends and when the connection is closed. Raw client: never answers pings."""
import asyncio, time, sys, os, json
HOST, PORT, MAXWAIT = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
WSREQ = (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
def wsframe(payload, opcode=1, fin=True):
    mask = os.urandom(4); n = len(payload)
    hdr = bytes([(0x80 if fin else 0) | opcode, 0x80 | n]) if n < 126 else bytes([(0x80 if fin else 0) | opcode, 0xFE]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
async def run(name, steps):
    t0 = time.monotonic(); ev = []
    r, w = await asyncio.open_connection(HOST, PORT)
    w.write(WSREQ); await w.drain()
    hdr = await r.readuntil(b"\r\n\r\n"); ev.append((0, hdr.split(b"\r\n")[0].decode()))
    async def send():
        for s in steps:
            if isinstance(s, (int, float)): await asyncio.sleep(s)
            else: w.write(s); await w.drain()
        await asyncio.sleep(1e9)
    st = asyncio.create_task(send())
    async def recv():
        try:
            while True:
                h = await r.readexactly(2); op = h[0] & 0xF; n = h[1] & 0x7F
                if n == 126: n = int.from_bytes(await r.readexactly(2), "big")
                elif n == 127: n = int.from_bytes(await r.readexactly(8), "big")
                p = await r.readexactly(n)
                ev.append((round(time.monotonic() - t0, 1), "op%d %s" % (op, p[:100])))
        except Exception as e:
            ev.append((round(time.monotonic() - t0, 1), "CLOSED " + type(e).__name__))
    try: await asyncio.wait_for(recv(), MAXWAIT)
    except asyncio.TimeoutError: ev.append((MAXWAIT, "STILL OPEN"))
    st.cancel(); w.close()
    print(name, json.dumps(ev, default=str))
INIT = wsframe(b'{"type":"connection_init","payload":{}}')
SUBQ = wsframe(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": 'subscription { requestEvents(reference: "EVI-2026-000001-5", trackingCode: "AAAA-AAAA-AAAA-AAAA") { kind } }'}}).encode())
async def main():
    await asyncio.gather(
        run("noinit", []),
        run("init_idle", [INIT]),
        run("halfframe_noinit", [INIT[:5]]),
        run("init_halfframe", [INIT, 0.5, SUBQ[:10]]),
        run("init_sub_idle", [INIT, 0.5, SUBQ]),
    )
asyncio.run(main())
