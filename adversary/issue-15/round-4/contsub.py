import sys, os, json, time, subprocess, threading, uuid
sys.path.insert(0, os.path.dirname(__file__)); import gql
BASE, DUR, KEVERY = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
PSQL = ["psql", "-h", "127.0.0.1", "-p", "55600", "-U", "postgres", "-d", "envagin", "-At", "-c"]
def sql(q): return subprocess.run(PSQL + [q], capture_output=True, text=True).stdout.strip()
def kill(): return sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='envagin' AND pid<>pg_backend_pid()")
run = uuid.uuid4().hex[:8]; T0 = time.monotonic()
lock = threading.Lock(); res = []; stop = T0 + DUR
def worker(i):
    n = 0
    while time.monotonic() < stop:
        n += 1; key = "ck-%s-%d-%d" % (run, i, n) if n % 2 else None
        desc = "Det är ett hål i vägen på Ringvägen cmark-%s-%d-%d" % (run, i, n)
        t = time.monotonic() - T0
        try: s, b = gql.submit(BASE, desc, key)
        except Exception as e: s, b = 0, None
        te = time.monotonic() - T0
        ok = bool(b and b.get("data") and b["data"].get("submitRequest"))
        r2 = None
        if not ok and key:
            s2, b2 = gql.submit(BASE, desc, key); r2 = bool(b2 and b2.get("data") and b2["data"].get("submitRequest"))
        with lock: res.append((round(t, 3), round(te, 3), desc, key, ok, r2))
ts = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
[t.start() for t in ts]; kills = []
while time.monotonic() < stop - 1:
    time.sleep(KEVERY); a = time.monotonic() - T0; kill(); kills.append((round(a, 3), round(time.monotonic() - T0, 3)))
[t.join() for t in ts]
bad = [r for r in res if not r[4]]
print("sent", len(res), "failed", len(bad), "kills", len(kills))
for r in bad:
    stored = sql("select count(*) from requests where description = '%s'" % r[2])
    near = [k for k in kills if k[0] - 0.5 < r[1] and r[0] < k[1] + 0.5]
    inflight = [k for k in kills if r[0] <= k[1] and r[1] >= k[0]]
    print("start %.3f end %.3f keyed=%s retry_ok=%s stored=%s kill_overlap=%s" % (r[0], r[1], bool(r[3]), r[5], stored, inflight))
print("stored", sql("select count(*) from requests where description like '%%cmark-%s-%%'" % run), "distinct", sql("select count(distinct description) from requests where description like '%%cmark-%s-%%'" % run))
