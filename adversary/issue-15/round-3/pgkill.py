"""PostgreSQL: terminate every backend of the service, then immediately fire parallel submissions
(with and without idempotencyKey), staff claims/setStatus, and status reads. Retry INTERNAL keyed ones
with the same key. Count what was stored (by a unique marker in the description).
usage: pgkill.py BASE ROUNDS NSUB [delay_after_kill_s] [mode: kill|restart]"""
import sys, os, json, time, uuid, subprocess, concurrent.futures as cf
sys.path.insert(0, os.path.dirname(__file__)); import gql
BASE, ROUNDS, NSUB = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
DELAY = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
MODE = sys.argv[5] if len(sys.argv) > 5 else "kill"
TOK = open("/tmp/adv15r3/tok_h.txt").read().strip()
PSQL = ["psql", "-h", "127.0.0.1", "-p", "55500", "-U", "postgres", "-d", "envagin", "-At", "-c"]
PG = "/usr/lib/postgresql/15/bin"
def sql(q): return subprocess.run(PSQL + [q], capture_output=True, text=True).stdout.strip()
def kill():
    if MODE == "restart":
        subprocess.run(["runuser", "-u", "postgres", "--", PG + "/pg_ctl", "-D", "/tmp/adv15r3/pg/data", "-l", "/tmp/adv15r3/pg/log", "-m", "fast", "-w",
                        "-o", "-c listen_addresses=127.0.0.1 -p 55500 -k /tmp/adv15r3/pg -c max_connections=100", "restart"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return "restarted"
    return sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='envagin' AND pid<>pg_backend_pid()")
def code(r):
    s, b = r
    if b and b.get("errors"): return "%d:%s" % (s, b["errors"][0].get("extensions", {}).get("code"))
    return "%d:ok" % s
ex = cf.ThreadPoolExecutor(64)
tot = {}
def bump(k): tot[k] = tot.get(k, 0) + 1
run = uuid.uuid4().hex[:8]
for rnd in range(ROUNDS):
    # prepare requests for staff to work on, and warm the pool with parallel work
    seeds = list(ex.map(lambda i: gql.submit(BASE, "Gatlampan vid Parkvägen %d är trasig seed-%s-%d-%d" % (i, run, rnd, i)), range(16)))
    refs = [s[1]["data"]["submitRequest"]["request"]["reference"] for s in seeds if s[1] and s[1].get("data")]
    pairs = [(s[1]["data"]["submitRequest"]["request"]["reference"], s[1]["data"]["submitRequest"]["trackingCode"]) for s in seeds if s[1] and s[1].get("data")]
    list(ex.map(lambda p: gql.status(BASE, *p), pairs))  # touch the pool right before the kill
    killed = kill()
    if DELAY: time.sleep(DELAY)
    t0 = time.monotonic()
    jobs = []
    for i in range(NSUB):
        key = ("k-%s-%d-%d" % (run, rnd, i)) if i % 2 == 0 else None
        desc = "Det är ett hål i vägen på Ringvägen %d mark-%s-%d-%d" % (i, run, rnd, i)
        jobs.append(("submit_key" if key else "submit_nokey", desc, key, ex.submit(gql.submit, BASE, desc, key)))
    claims = [ex.submit(gql.gql, BASE, 'mutation { claimRequest(reference: "%s") { reference status } }' % r, None, TOK) for r in refs[:8]]
    reads = [ex.submit(gql.status, BASE, *p) for p in pairs[8:16]]
    health = ex.submit(lambda: gql.gql(BASE, "{ __typename }"))
    subres = [(kind, desc, key, f.result()) for kind, desc, key, f in jobs]
    cres = [f.result() for f in claims]; rres = [f.result() for f in reads]
    elapsed = time.monotonic() - t0
    # setStatus right after a second kill
    claimed = [c[1]["data"]["claimRequest"]["reference"] for c in cres if c[1] and c[1].get("data")]
    list(ex.map(lambda r: gql.status(BASE, *pairs[0]), range(8)))
    kill()
    if DELAY: time.sleep(DELAY)
    sres = list(ex.map(lambda r: gql.gql(BASE, 'mutation { setStatus(reference: "%s", status: RESOLVED, messageToCitizen: "Lagat") { reference status } }' % r, None, TOK), claimed))
    line = {"round": rnd, "killed": killed, "first_wave_s": round(elapsed, 2)}
    for kind, desc, key, r in subres:
        c = code(r); line.setdefault(kind, {}).setdefault(c, 0); line[kind][c] += 1; bump(kind + " " + c)
        if c != "200:ok" and key:  # retry with the same key
            r2 = gql.submit(BASE, desc, key); bump("retry_with_key " + code(r2))
    for c in cres:
        k = code(c); line.setdefault("claim", {}).setdefault(k, 0); line["claim"][k] += 1; bump("claim " + k)
    for c in rres:
        k = code(c); line.setdefault("read", {}).setdefault(k, 0); line["read"][k] += 1; bump("read " + k)
    for c in sres:
        k = code(c); line.setdefault("setStatus", {}).setdefault(k, 0); line["setStatus"][k] += 1; bump("setStatus " + k)
    line["typename"] = code(health.result())
    print(json.dumps(line)); sys.stdout.flush()
    time.sleep(1.5)
dups = sql("SELECT count(*) FROM (SELECT description FROM requests WHERE description LIKE '%%mark-%s-%%' GROUP BY description HAVING count(*)>1) d" % run)
stored = sql("SELECT count(*) FROM requests WHERE description LIKE '%%mark-%s-%%'" % run)
print("TOTAL", json.dumps(tot, sort_keys=True))
print("stored submissions with marker: %s of %d sent; descriptions stored more than once: %s" % (stored, ROUNDS * NSUB, dups))
ev = sql("SELECT count(*) FROM (SELECT request_id, kind FROM request_events e JOIN requests r ON r.id=e.request_id WHERE r.description LIKE '%%seed-%s-%%' AND kind IN ('CLAIMED') GROUP BY 1,2 HAVING count(*)>1) x" % run)
print("requests with more than one CLAIMED event:", ev)
