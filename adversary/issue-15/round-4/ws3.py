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

import random
async def main():
    BIGHDR = bytes([0x81, 0xFE]) + (60000).to_bytes(2, "big") + b"\0\0\0\0"
    tests = [
        run("init_binary_frame", [wsframe(b'{"type":"connection_init","payload":{}}', opcode=2)]),
        run("init_garbage_json", [wsframe(b'{"type":"connection_init","payload":')]),
        run("init_payload_string", [wsframe(b'{"type":"connection_init","payload":"x"}')]),
        run("init_bad_token", [wsframe(b'{"type":"connection_init","payload":{"Authorization":"Bearer abc.def.ghi"}}')]),
        run("double_init", [INIT, 0.5, INIT]),
        run("pong_only_every_4s", [wsframe(b'{"type":"pong"}'), 4, wsframe(b'{"type":"pong"}'), 4, wsframe(b'{"type":"pong"}'), 4, wsframe(b'{"type":"pong"}'), 4, wsframe(b'{"type":"pong"}')]),
        run("big_declared_frame_trickled", [BIGHDR] + [x for _ in range(25) for x in (b"a", 1)]),
        run("unknown_type_every_4s", [wsframe(b'{"type":"hello"}'), 4, wsframe(b'{"type":"hello"}'), 4, wsframe(b'{"type":"hello"}'), 4, wsframe(b'{"type":"hello"}')]),
    ]
    # many at once: 120 sockets each sending init at a random time in [14.0, 14.9]
    many = [run("many_init_late_%d" % k, [14.0 + random.random() * 0.9, INIT]) for k in range(120)]
    await asyncio.gather(*tests, *many)
asyncio.run(main())
