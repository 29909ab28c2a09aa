"""Slow-client scenarios against envagin. Each scenario runs as its own task (in parallel);
reports time from connect until the server closed the connection, and what it answered."""
import asyncio, time, sys, json
HOST, PORT = sys.argv[1], int(sys.argv[2])
MAXWAIT = float(sys.argv[3]) if len(sys.argv) > 3 else 80
only = sys.argv[4].split(",") if len(sys.argv) > 4 else None

async def watch(reader, t0, out):
    data = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                out["closed"] = time.monotonic() - t0; out["how"] = "EOF"; break
            if not data: out["first_bytes_at"] = round(time.monotonic() - t0, 2)
            data += chunk
    except Exception as e:
        out["closed"] = time.monotonic() - t0; out["how"] = type(e).__name__
    out["resp"] = data[:160].decode("latin1").replace("\r\n", " | ")
    out["resp_count"] = data.count(b"HTTP/1.")

async def trickle(writer, data, interval, out, t0):
    try:
        for i in range(len(data)):
            writer.write(data[i:i+1]); await writer.drain()
            out["sent"] = i + 1
            await asyncio.sleep(interval)
    except Exception as e:
        out["write_err"] = "%s@%.1f" % (type(e).__name__, time.monotonic() - t0)

async def scenario(name, fn):
    out = {"name": name}
    t0 = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(HOST, PORT)
    except Exception as e:
        out["connect_err"] = str(e); return out
    w = asyncio.create_task(watch(reader, t0, out))
    s = asyncio.create_task(fn(writer, out, t0))
    done, _ = await asyncio.wait({w}, timeout=MAXWAIT)
    if not done:
        out["closed"] = None; out["how"] = "STILL OPEN after %ss" % MAXWAIT
        w.cancel()
    s.cancel()
    writer.close()
    if out.get("closed") is not None: out["closed"] = round(out["closed"], 2)
    return out

GET = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
BODY = json.dumps({"query": "{ __typename }"}).encode()
def post(extra=b"", cl=None, body=BODY):
    return (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (cl if cl is not None else len(body))) + extra + b"\r\n"

async def s_idle(w, out, t0): await asyncio.sleep(1e9)
async def s_trickle1(w, out, t0): await trickle(w, GET * 1 + b"X-Pad: " + b"a" * 200, 1.0, out, t0)
async def s_trickle5(w, out, t0): await trickle(w, GET[:-2] + b"X-Pad: " + b"a" * 200, 5.0, out, t0)
async def s_trickle14(w, out, t0): await trickle(w, GET[:-2] + b"X-Pad: " + b"a" * 200, 14.0, out, t0)
async def s_trickle_fast(w, out, t0): await trickle(w, GET[:-2] + b"X-Pad: " + b"a" * 5000, 0.02, out, t0)
async def s_header_lines(w, out, t0):
    w.write(b"GET /health HTTP/1.1\r\nHost: x\r\n"); await w.drain()
    i = 0
    try:
        while True:
            w.write(b"X-H%d: v\r\n" % i); await w.drain(); i += 1; out["sent"] = i; await asyncio.sleep(1)
    except Exception as e: out["write_err"] = type(e).__name__
async def s_keepalive_idle(w, out, t0):
    w.write(GET); await w.drain(); await asyncio.sleep(1e9)
async def s_keepalive_twice(w, out, t0):
    w.write(GET); await w.drain(); await asyncio.sleep(10); w.write(GET); await w.drain(); await asyncio.sleep(1e9)
async def s_keepalive_partial(w, out, t0):
    w.write(GET + b"GET /hea"); await w.drain(); await asyncio.sleep(1e9)
async def s_http10_ka(w, out, t0):
    w.write(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"); await w.drain(); await asyncio.sleep(1e9)
async def s_http10(w, out, t0):
    w.write(b"GET /health HTTP/1.0\r\n\r\n"); await w.drain(); await asyncio.sleep(1e9)
async def s_pipelined(w, out, t0):
    w.write(GET * 5); await w.drain(); await asyncio.sleep(1e9)
async def s_pipelined_gql(w, out, t0):
    w.write((post() + BODY) * 3); await w.drain(); await asyncio.sleep(1e9)
async def s_body_stall(w, out, t0):
    w.write(post(cl=1000)); await w.drain(); await asyncio.sleep(1e9)
async def s_body_trickle(w, out, t0):
    body = b'{"query":"{ __typename }", "x":"' + b"a" * 2000 + b'"}'
    w.write(post(cl=len(body))); await w.drain(); await trickle(w, body, 1.0, out, t0)
async def s_body_trickle_fast(w, out, t0):
    body = b'{"query":"{ __typename }", "x":"' + b"a" * 20000 + b'"}'
    w.write(post(cl=len(body))); await w.drain(); await trickle(w, body, 0.01, out, t0)
async def s_chunked_trickle(w, out, t0):
    w.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"); await w.drain()
    try:
        while True:
            w.write(b"1\r\n \r\n"); await w.drain(); await asyncio.sleep(1)
    except Exception as e: out["write_err"] = type(e).__name__
async def s_expect(w, out, t0):
    w.write(post(extra=b"Expect: 100-continue\r\n")); await w.drain(); await asyncio.sleep(1e9)
async def s_expect_big(w, out, t0):
    w.write(post(extra=b"Expect: 100-continue\r\n", cl=100000)); await w.drain(); await asyncio.sleep(1e9)
async def s_h2(w, out, t0):
    w.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); await w.drain(); await asyncio.sleep(1e9)
async def s_ws_trickle_hdr(w, out, t0):
    req = (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
    await trickle(w, req, 1.0, out, t0)
async def s_ws_idle_noinit(w, out, t0):
    req = (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
    w.write(req); await w.drain(); await asyncio.sleep(1e9)
def wsframe(payload, opcode=1, fin=True):
    import os
    mask = os.urandom(4)
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126: hdr = bytes([b0, 0x80 | n])
    else: hdr = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
WSREQ = (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
async def s_ws_init_idle(w, out, t0):
    w.write(WSREQ); await w.drain(); await asyncio.sleep(0.3)
    w.write(wsframe(b'{"type":"connection_init","payload":{}}')); await w.drain(); await asyncio.sleep(1e9)
async def s_ws_partial_frame(w, out, t0):
    w.write(WSREQ); await w.drain(); await asyncio.sleep(0.3)
    w.write(wsframe(b'{"type":"connection_init","payload":{}}')); await w.drain(); await asyncio.sleep(0.3)
    f = wsframe(b'{"id":"1","type":"subscribe","payload":{"query":"{ __typename }"}}')
    await trickle(w, f, 1.0, out, t0)
async def s_ws_fragmented(w, out, t0):
    w.write(WSREQ); await w.drain(); await asyncio.sleep(0.3)
    w.write(wsframe(b'{"type":"connection_init","payload":{}}')); await w.drain(); await asyncio.sleep(0.3)
    msg = b'{"id":"1","type":"subscribe","payload":{"query":"{ __typename }"}}'
    try:
        for i, c in enumerate(msg):
            w.write(wsframe(bytes([c]), opcode=(1 if i == 0 else 0), fin=(i == len(msg) - 1))); await w.drain()
            out["sent"] = i + 1; await asyncio.sleep(1)
    except Exception as e: out["write_err"] = type(e).__name__

SC = {k[2:]: v for k, v in globals().items() if k.startswith("s_")}
async def main():
    names = only or list(SC)
    t = time.monotonic()
    res = await asyncio.gather(*(scenario(n, SC[n]) for n in names))
    for r in res: print(json.dumps(r, ensure_ascii=False))
    print("total %.1fs" % (time.monotonic() - t))
asyncio.run(main())
