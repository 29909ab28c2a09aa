# Measures /health, /ready, submitRequest and request() look-up latency for DURATION seconds.
# usage: python3 probe.py DURATION LABEL [base]
import asyncio, aiohttp, time, sys, json, uuid, random, statistics, socket
DUR = float(sys.argv[1]); LABEL = sys.argv[2]
BASE = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:18080"
SUBMIT = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference status category } trackingCode } }"
LOOKUP = "query($r: String!, $c: String!) { request(reference: $r, trackingCode: $c) { status history { kind } } }"
res = {"health": [], "ready": [], "submit": [], "lookup": []}
errs = {k: {} for k in res}
acked = []
def sess(ip):
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0), force_close=True), timeout=aiohttp.ClientTimeout(total=90))
async def timed(kind, coro):
    t = time.monotonic()
    try:
        ok, info = await coro
    except Exception as e:
        ok, info = False, type(e).__name__
    dt = time.monotonic() - t
    res[kind].append(dt)
    if not ok: errs[kind][str(info)[:60]] = errs[kind].get(str(info)[:60], 0) + 1
    return ok, info
async def get(s, path):
    async with s.get(BASE + path) as r:
        await r.read(); return r.status == 200, r.status
async def post(s, q, v):
    async with s.post(BASE + "/graphql", json={"query": q, "variables": v}) as r:
        b = await r.json(content_type=None); return r.status, b
async def submit(s):
    key = str(uuid.uuid4())
    st, b = await post(s, SUBMIT, {"i": {"description": f"Det är ett stort hål i gatan vid Storgatan {random.randint(1,99)}, bilar kör sönder däcken", "idempotencyKey": key}})
    d = (b.get("data") or {}).get("submitRequest")
    if d:
        acked.append((d["request"]["reference"], d["trackingCode"], key)); return True, "ok"
    return False, f"{st} {(b.get('errors') or [{}])[0].get('extensions',{}).get('code')}"
async def lookup(s):
    if not acked: return True, "none"
    ref, code, _ = random.choice(acked)
    st, b = await post(s, LOOKUP, {"r": ref, "c": code})
    d = (b.get("data") or {}).get("request")
    return (d is not None and len(d["history"]) > 0), f"{st} {(b.get('errors') or [{}])[0].get('extensions',{}).get('code')}"
async def loop(kind, period, fn):
    end = time.monotonic() + DUR; tasks = []
    i = 0
    while time.monotonic() < end:
        tasks.append(asyncio.create_task(timed(kind, fn(i)))); i += 1
        await asyncio.sleep(period)
    await asyncio.gather(*tasks)
async def main():
    s0 = sess("127.0.0.1")
    subs = [sess(f"127.0.2.{i}") for i in range(1, 11)]
    await asyncio.gather(
        loop("health", 0.05, lambda i: get(s0, "/health")),
        loop("ready", 0.1, lambda i: get(s0, "/ready")),
        loop("submit", 0.5, lambda i: submit(subs[i % 10])),
        loop("lookup", 0.5, lambda i: lookup(s0)),
    )
    for s in [s0] + subs: await s.close()
    out = {"label": LABEL}
    for k, v in res.items():
        if not v: continue
        v = sorted(v)
        out[k] = dict(n=len(v), fail=sum(errs[k].values()), p50=round(v[len(v)//2]*1000,1), p99=round(v[min(len(v)-1,int(len(v)*0.99))]*1000,1), max=round(v[-1]*1000,1), errs=errs[k])
    print(json.dumps(out))
    json.dump(acked, open(f"/tmp/adv15/acked-{LABEL}.json", "w"))
asyncio.run(main())
