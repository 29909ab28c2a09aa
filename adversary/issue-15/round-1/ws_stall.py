# Deadline bypass: a submitRequest sent over the WebSocket (/graphql/ws) while PostgreSQL backends are SIGSTOPped.
# usage: python3 ws_stall.py STALL_SECS   (server on :18081, db adv15a)
import asyncio, json, time, uuid, subprocess, sys, urllib.request, websockets
STALL = float(sys.argv[1])
SUBMIT = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference } trackingCode } }"
def backends():
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", "55432", "-U", "postgres", "-Atc",
        "select pid from pg_stat_activity where datname='adv15a' and pid<>pg_backend_pid()"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]
def http_submit(key, out):
    t = time.time()
    body = json.dumps({"query": SUBMIT, "variables": {"i": {"description": "Trasig gatlampa på Kungsgatan 3", "idempotencyKey": key}}}).encode()
    req = urllib.request.Request("http://127.0.0.1:18081/graphql", data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r: out["http"] = (r.status, round(time.time()-t,1), r.read()[:120])
    except urllib.error.HTTPError as e: out["http"] = (e.code, round(time.time()-t,1), e.read()[:120])
async def main():
    async with websockets.connect("ws://127.0.0.1:18081/graphql/ws", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        print("init:", await ws.recv())
        pids = backends(); print("stopping backends", pids)
        for p in pids: subprocess.run(["kill", "-STOP", str(p)])
        t0 = time.time()
        wskey = str(uuid.uuid4()); httpkey = str(uuid.uuid4())
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBMIT, "variables": {"i": {"description": "Trasig gatlampa på Drottninggatan 5", "idempotencyKey": wskey}}}}))
        out = {}
        th = asyncio.get_running_loop().run_in_executor(None, http_submit, httpkey, out)
        async def cont():
            await asyncio.sleep(STALL)
            for p in pids: subprocess.run(["kill", "-CONT", str(p)])
            print(f"t={time.time()-t0:.1f}s resumed backends")
        c = asyncio.create_task(cont())
        try:
            msg = await asyncio.wait_for(ws.recv(), timeout=STALL + 60)
            print(f"t={time.time()-t0:.1f}s WS answer: {msg[:200]}")
        except asyncio.TimeoutError:
            print("WS: no answer")
        await c; await th
        print("HTTP submit:", out.get("http"))
        print("keys", wskey, httpkey)
asyncio.run(main())
