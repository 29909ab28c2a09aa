import asyncio, time, sys, os, json, subprocess
sys.path.insert(0, os.path.dirname(__file__)); import gql
def wsreq(proto):
    p = (b"Sec-WebSocket-Protocol: " + proto.encode() + b"\r\n") if proto else b""
    return (b"GET /graphql/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + p + b"\r\n")
def wsframe(payload, opcode=1, fin=True):
    mask = os.urandom(4); n = len(payload)
    hdr = bytes([(0x80 if fin else 0) | opcode, 0x80 | n]) if n < 126 else bytes([(0x80 if fin else 0) | opcode, 0xFE]) + n.to_bytes(2, "big")
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
HOST, PORT, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BASE = "http://%s:%d" % (HOST, PORT)
PSQL = ["psql", "-h", "127.0.0.1", "-p", "55600", "-U", "postgres", "-d", "envagin", "-At", "-c"]
PG = "/usr/lib/postgresql/15/bin"
def kill():
    if MODE == "restart":
        subprocess.run(["runuser", "-u", "postgres", "--", PG + "/pg_ctl", "-D", "/tmp/adv15r4/pg/data", "-l", "/tmp/adv15r4/pg/log", "-m", "fast", "-w",
                        "-o", "-c listen_addresses=127.0.0.1 -p 55600 -k /tmp/adv15r4/pg -c max_connections=100", "restart"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        subprocess.run(PSQL + ["SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='envagin' AND pid<>pg_backend_pid()"], capture_output=True)
async def main():
    s, r = gql.submit(BASE, "Gatlampan vid Kyrkvägen 3 är trasig")
    d = r["data"]["submitRequest"]; ref, code = d["request"]["reference"], d["trackingCode"]
    rd, w = await asyncio.open_connection(HOST, PORT)
    w.write(wsreq("graphql-transport-ws")); await w.drain(); await rd.readuntil(b"\r\n\r\n")
    w.write(wsframe(b'{"type":"connection_init","payload":{}}'))
    w.write(wsframe(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": 'subscription { requestEvents(reference: "%s", trackingCode: "%s") { kind } }' % (ref, code)}}).encode())); await w.drain()
    t0 = time.monotonic(); ev = []
    async def recv():
        try:
            while True:
                h = await rd.readexactly(2); n = h[1] & 0x7F
                if n == 126: n = int.from_bytes(await rd.readexactly(2), "big")
                p = await rd.readexactly(n); ev.append((round(time.monotonic()-t0,1), p[:80].decode(errors="replace")))
        except Exception as e: ev.append((round(time.monotonic()-t0,1), "CLOSED"))
    rt = asyncio.create_task(recv())
    await asyncio.sleep(1)
    for i in range(3):
        await asyncio.to_thread(kill); await asyncio.sleep(1)
        res = await asyncio.to_thread(gql.gql, "http://127.0.0.1:18200", 'mutation { replyAsCitizen(reference: "%s", trackingCode: "%s", body: "Tack %d") { reference } }' % (ref, code, i))
        ev.append((round(time.monotonic()-t0,1), "reply sent: " + ("ok" if res[1].get("data") else json.dumps(res[1])[:80])))
        await asyncio.sleep(3)
    rt.cancel()
    for e in ev: print(e)
asyncio.run(main())
