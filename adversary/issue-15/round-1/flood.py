# Preview flood. usage: python3 flood.py MODE CONC DURATION NADDR [batch] [base]
# MODE: emerg | classify | answers | mixed ; each HTTP request = batch of `batch` ops, each op with 4-5 aliased previews on long text
import asyncio, aiohttp, time, sys, json, random, collections
MODE, CONC, DUR, NADDR = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
BATCH = int(sys.argv[5]) if len(sys.argv) > 5 else 10
BASE = sys.argv[6] if len(sys.argv) > 6 else "http://127.0.0.1:18080"
words = "gatlampa trasig snöröjning hemtjänst försörjningsstöd bygglov parkering soptunna skola förskola buller vatten avlopp park lekplats hyra bidrag brand skadad hot".split()
random.seed(1)
long = " ".join(random.choice(words) + "x" * (i % 9) for i in range(3000))[:10000]
def op(mode):
    if mode == "mixed": mode = random.choice(["emerg", "classify", "answers"])
    if mode == "emerg":
        return {"query": "query($t:String!){" + " ".join(f"a{i}:emergencyAdvice(text:$t)" for i in range(5)) + "}", "variables": {"t": long}}
    if mode == "classify":
        return {"query": "query($t:String!){" + " ".join(f"a{i}:classify(text:$t){{category}}" for i in range(4)) + "}", "variables": {"t": long}}
    return {"query": "query($t:String!){" + " ".join(f"a{i}:answers(text:$t,first:10){{relevance}}" for i in range(4)) + "}", "variables": {"t": long[:2000]}}
bodies = [json.dumps([op(MODE) for _ in range(BATCH)] if BATCH > 1 else op(MODE)).encode() for _ in range(8)]
stats = collections.Counter(); lat = []
async def worker(w, sessions):
    end = time.monotonic() + DUR; i = w
    while time.monotonic() < end:
        s = sessions[i % len(sessions)]; i += CONC
        t = time.monotonic()
        try:
            async with s.post(BASE + "/graphql", data=random.choice(bodies), headers={"content-type": "application/json"}) as r:
                b = await r.read()
                txt = b.decode(errors="replace")
                stats[f"http{r.status}"] += 1
                stats["busy"] += txt.count('RATE_LIMITED')
                stats["rl_budget"] += txt.count('too many') 
                stats["previews_ok"] += (txt.count('"a') - txt.count('"a0":null') )
        except Exception as e:
            stats[type(e).__name__] += 1
        lat.append(time.monotonic() - t)
async def main():
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(f"127.0.{1 + n // 250}.{1 + n % 250}", 0), limit=0), timeout=aiohttp.ClientTimeout(total=60)) for n in range(NADDR)]
    t0 = time.monotonic()
    await asyncio.gather(*(worker(w, sessions) for w in range(CONC)))
    el = time.monotonic() - t0
    for s in sessions: await s.close()
    lat.sort()
    print(json.dumps({"mode": MODE, "conc": CONC, "addrs": NADDR, "batch": BATCH, "secs": round(el,1), "req_per_s": round(len(lat)/el,1), "stats": dict(stats),
                      "lat_p50": round(lat[len(lat)//2]*1000), "lat_max": round(lat[-1]*1000)}))
asyncio.run(main())
