# WebSocket deadline under a PostgreSQL stall, with a live subscription on the same socket;
# then retry every submission over HTTP with the same idempotencyKey and count stored rows.
# usage: python3 ws_deadline.py STALL_SECS N   (server on 127.0.0.1:18091, db adv15b, TIMEOUT=5)
import asyncio, json, time, uuid, subprocess, sys, urllib.request, websockets
STALL = float(sys.argv[1]); N = int(sys.argv[2]); RUN = uuid.uuid4().hex[:8]
BASE = "127.0.0.1:18091"
SUBMIT = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference } trackingCode } }"
def psql(sql):
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", "55432", "-U", "postgres", "-d", "adv15b", "-Atc", sql], capture_output=True, text=True).stdout
def backends():
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", "55432", "-U", "postgres", "-Atc",
        "select pid from pg_stat_activity where datname='adv15b' and pid<>pg_backend_pid()"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]
def inp(i, key): return {"description": f"Trasig gatlampa på Drottninggatan {i} run {RUN}", "idempotencyKey": key}
def http(q, v):
    req = urllib.request.Request(f"http://{BASE}/graphql", data=json.dumps({"query": q, "variables": v}).encode(), headers={"content-type": "application/json"})
    t = time.time()
    try:
        with urllib.request.urlopen(req, timeout=120) as r: return time.time() - t, json.loads(r.read())
    except urllib.error.HTTPError as e: return time.time() - t, {"http": e.code}
async def main():
    # a first submission creates a request to subscribe to
    _, first = http(SUBMIT, {"i": inp(-1, str(uuid.uuid4()))})
    ref = first["data"]["submitRequest"]["request"]["reference"]; code = first["data"]["submitRequest"]["trackingCode"]
    pids = backends()
    async with websockets.connect(f"ws://{BASE}/graphql/ws", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}})); await ws.recv()
        await ws.send(json.dumps({"id": "sub", "type": "subscribe", "payload": {"query": "subscription($r:String!,$c:String){requestEvents(reference:$r,trackingCode:$c){kind}}", "variables": {"r": ref, "c": code}}}))
        await asyncio.sleep(0.2)
        t0 = time.time(); keys = {}
        for p in pids: subprocess.run(["kill", "-STOP", str(p)])
        print(f"stopped {len(pids)} backends")
        for i in range(N):
            keys[str(i)] = str(uuid.uuid4())
            await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": SUBMIT, "variables": {"i": inp(i, keys[str(i)])}}}))
        await ws.send(json.dumps({"id": "ping", "type": "subscribe", "payload": {"query": "{__typename}"}}))
        async def cont():
            end = time.time() + STALL
            while time.time() < end:   # also freeze backends the pool opens meanwhile
                for p in set(backends()) - set(pids):
                    subprocess.run(["kill", "-STOP", str(p)]); pids.append(p)
                await asyncio.sleep(0.2)
            for p in pids: subprocess.run(["kill", "-CONT", str(p)])
            print(f"t={time.time()-t0:.1f}s resumed")
        c = asyncio.create_task(cont())
        got = {}
        while len(got) < N + 1:
            try: m = json.loads(await asyncio.wait_for(ws.recv(), timeout=STALL + 40))
            except asyncio.TimeoutError: print("ws silent"); break
            if m["type"] == "next":
                d = m["payload"].get("data")
                ok = d and (d.get("submitRequest") or d.get("__typename"))
                got[m["id"]] = (round(time.time()-t0,1), "ok" if ok else m["payload"]["errors"][0].get("extensions", {}).get("code"))
        await c
        print("ws answers (t, outcome):", sorted(got.values()))
    # retry all over HTTP with the same keys
    retry = [http(SUBMIT, {"i": inp(int(i), k)}) for i, k in keys.items()]
    print("retries:", sorted((round(t,1), "ok" if r.get("data") and r["data"].get("submitRequest") else json.dumps(r)[:80]) for t, r in retry)[:5], "...")
    rows = psql(f"select count(*), count(distinct description) from requests where description like '%run {RUN}'")
    print(f"stored rows for run {RUN} (count, distinct descriptions; expect {N+1}, {N+1}):", rows.strip())
asyncio.run(main())
