import asyncio, time, sys, os, json
sys.path.insert(0, os.path.dirname(__file__)); import gql
HOST, PORT, MAXWAIT = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
BASE="http://%s:%d"%(HOST,PORT)
def wsreq(proto):
    p = (b"Sec-WebSocket-Protocol: " + proto.encode() + b"\r\n") if proto else b""
    return (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + p + b"\r\n")
def wsframe(payload, opcode=1, fin=True):
    mask = os.urandom(4); n = len(payload)
    hdr = bytes([(0x80 if fin else 0) | opcode, 0x80 | n]) if n < 126 else bytes([(0x80 if fin else 0) | opcode, 0xFE]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
INIT = wsframe(b'{"type":"connection_init","payload":{}}')
async def run(name, steps, proto="graphql-transport-ws", path=None):
    t0 = time.monotonic(); ev = []
    r, w = await asyncio.open_connection(HOST, PORT)
    req = wsreq(proto)
    if path: req = req.replace(b"/graphql/ws", path.encode())
    w.write(req); await w.drain()
    hdr = await r.readuntil(b"\r\n\r\n"); ev.append((0, hdr.split(b"\r\n")[0].decode()))
    async def send():
        try:
          for s in steps:
            if isinstance(s, (int, float)): await asyncio.sleep(s)
            elif callable(s): w.write(await s()); await w.drain()
            else: w.write(s); await w.drain()
        except Exception as e: ev.append((round(time.monotonic()-t0,1),"SENDERR "+type(e).__name__))
        await asyncio.sleep(1e9)
    st = asyncio.create_task(send())
    async def recv():
        try:
            while True:
                h = await r.readexactly(2); op = h[0] & 0xF; n = h[1] & 0x7F
                if n == 126: n = int.from_bytes(await r.readexactly(2), "big")
                elif n == 127: n = int.from_bytes(await r.readexactly(8), "big")
                p = await r.readexactly(n)
                ev.append((round(time.monotonic() - t0, 1), "op%d %s" % (op, p[:90])))
        except Exception as e:
            ev.append((round(time.monotonic() - t0, 1), "CLOSED " + type(e).__name__))
    try: await asyncio.wait_for(recv(), MAXWAIT)
    except asyncio.TimeoutError: ev.append((MAXWAIT, "STILL OPEN"))
    st.cancel(); w.close()
    print(name, json.dumps(ev, default=str)); sys.stdout.flush()
def trickle(data, gap):
    out = []
    for b in data: out += [bytes([b]), gap]
    return out
PINGMSG = wsframe(b'{"type":"ping"}')
WSPING = wsframe(b"hi", opcode=9)
async def main():
    s, r = gql.submit(BASE, "Gatlampan vid Kyrkvägen 3 är trasig")
    d = r["data"]["submitRequest"]; ref, code = d["request"]["reference"], d["trackingCode"]
    SUB = wsframe(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": 'subscription { requestEvents(reference: "%s", trackingCode: "%s") { kind status } }' % (ref, code)}}).encode())
    async def poke():
        await asyncio.sleep(0)
        # trigger an event with a citizen reply
        await asyncio.to_thread(gql.gql, BASE, 'mutation { replyAsCitizen(reference: "%s", trackingCode: "%s", body: "Tack") { reference } }' % (ref, code))
        return b""
    tests = [
        run("init_at_14.9", [14.9, INIT]),
        run("init_trickle_1byte_per_0.4s(~19s)", trickle(INIT, 0.4)),
        run("half_init_then_rest_at_14.9", [INIT[:6], 14.9, INIT[6:]]),
        run("gql_ping_every_4s_noinit", [PINGMSG, 4, PINGMSG, 4, PINGMSG, 4, PINGMSG, 4, PINGMSG, 4, PINGMSG, 4, PINGMSG]),
        run("ws_ping_every_4s_noinit", [WSPING, 4, WSPING, 4, WSPING, 4, WSPING, 4, WSPING, 4, WSPING, 4, WSPING]),
        run("fragmented_init_never_finished", [wsframe(b'{"type":"connection_init"', fin=False), 4, wsframe(b' ', opcode=0, fin=False), 4, wsframe(b' ', opcode=0, fin=False), 4, wsframe(b' ', opcode=0, fin=False), 4, wsframe(b' ', opcode=0, fin=False)]),
        run("legacy_graphql-ws_noinit", [], proto="graphql-ws"),
        run("no_subprotocol_noinit", [], proto=None),
        run("path_trailing_slash_noinit", [], path="/graphql/ws/"),
        run("path_graphql_noinit", [], path="/graphql"),
        run("subscribe_before_init", [SUB]),
        run("valid_sub_idle_then_event_at_20s", [INIT, 0.3, SUB, 20, poke]),
        run("valid_init_only_idle", [INIT]),
    ]
    await asyncio.gather(*tests)
asyncio.run(main())
