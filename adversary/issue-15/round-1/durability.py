# Durability under a fault: submit with unique keys at concurrency C until the fault; then verify.
# phase "load": python3 durability.py load BASE SECS C OUT ; phase "verify": python3 durability.py verify BASE OUT
import asyncio, aiohttp, json, sys, time, uuid, random
SUBMIT = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference } trackingCode } }"
LOOKUP = "query($r: String!, $c: String!) { request(reference: $r, trackingCode: $c) { status description history { kind } } }"
mode, BASE = sys.argv[1], sys.argv[2]
async def post(s, q, v):
    async with s.post(BASE + "/graphql", json={"query": q, "variables": v}) as r:
        return r.status, await r.json(content_type=None)
def desc(key): return f"Hål i vägen vid Parkgatan, märkning {key}"
async def load(secs, C, out):
    recs = []
    sess = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(f"127.0.3.{i+1}", 0)), timeout=aiohttp.ClientTimeout(total=60)) for i in range(40)]
    end = time.monotonic() + secs
    async def w(n):
        i = n
        while time.monotonic() < end:
            key = str(uuid.uuid4()); rec = {"key": key}
            try:
                st, b = await post(sess[i % 40], SUBMIT, {"i": {"description": desc(key), "idempotencyKey": key}}); i += C
                d = (b.get("data") or {}).get("submitRequest")
                if d: rec.update(ref=d["request"]["reference"], code=d["trackingCode"], outcome="acked")
                else: rec.update(outcome=f"{st}:{(b.get('errors') or [{}])[0].get('extensions',{}).get('code')}")
            except Exception as e:
                rec["outcome"] = type(e).__name__
                await asyncio.sleep(0.2)
            recs.append(rec)
    await asyncio.gather(*(w(n) for n in range(C)))
    for s in sess: await s.close()
    json.dump(recs, open(out, "w"))
    from collections import Counter; print("load:", Counter(r["outcome"] for r in recs))
async def verify(out):
    recs = json.load(open(out))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
        lost = []; nohist = []; retried = {}; 
        for r in recs:
            if r["outcome"] == "acked":
                st, b = await post(s, LOOKUP, {"r": r["ref"], "c": r["code"]})
                d = (b.get("data") or {}).get("request")
                if not d: lost.append((r, b))
                elif not d["history"]: nohist.append(r)
            else:
                st, b = await post(s, SUBMIT, {"i": {"description": desc(r["key"]), "idempotencyKey": r["key"]}})
                d = (b.get("data") or {}).get("submitRequest")
                retried[r["key"]] = d["request"]["reference"] if d else str(b)[:100]
        print(f"verify: acked={sum(r['outcome']=='acked' for r in recs)} lost={len(lost)} without_history={len(nohist)} retried_unacked={len(retried)}")
        for l in lost[:5]: print("LOST", l)
        json.dump(retried, open(out + ".retried", "w"))
if mode == "load": asyncio.run(load(float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
else: asyncio.run(verify(sys.argv[3]))
