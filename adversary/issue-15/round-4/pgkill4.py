"""Harder: warm the pool to max with 48 parallel ops, kill, then immediately fire 48 parallel ops of mixed kinds
(staff reads: queue, searchRequests text, requestByReference, accessLog, stats; resident: request, reply, submit; /ready).
Rounds with different delays after kill. Count per op."""
import sys, os, json, time, uuid, subprocess, urllib.request, concurrent.futures as cf
sys.path.insert(0, os.path.dirname(__file__)); import gql
BASE, ROUNDS = sys.argv[1], int(sys.argv[2]); DELAYS=[float(x) for x in sys.argv[3].split(",")]
TOK = open("/tmp/adv15r4/tok_h.txt").read().strip(); TOKCC = open("/tmp/adv15r4/tok_cc.txt").read().strip()
PSQL = ["psql", "-h", "127.0.0.1", "-p", "55600", "-U", "postgres", "-d", "envagin", "-At", "-c"]
def sql(q): return subprocess.run(PSQL + [q], capture_output=True, text=True).stdout.strip()
def kill(): return sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='envagin' AND pid<>pg_backend_pid()")
def c(r):
    s, b = r
    return "%d:%s" % (s, b["errors"][0].get("extensions", {}).get("code") if b and b.get("errors") else "ok")
def ready():
    try: return str(urllib.request.urlopen(BASE + "/ready", timeout=30).status)
    except urllib.error.HTTPError as e: return str(e.code)
ops = {
 "queue": lambda p: c(gql.gql(BASE, '{ queue(code: "TF", first: 5) { nodes { reference } } }', None, TOK)),
 "searchText": lambda p: c(gql.gql(BASE, '{ searchRequests(filter: {text: "Gatlampan"}, first: 5) { nodes { reference } } }', None, TOKCC)),
 "byRef": lambda p: c(gql.gql(BASE, '{ requestByReference(reference: "%s") { status } }' % p[0], None, TOK)),
 "accessLog": lambda p: c(gql.gql(BASE, '{ accessLog(reference: "%s") { at } }' % p[0], None, TOK)),
 "stats": lambda p: c(gql.gql(BASE, '{ stats(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { __typename } }', None, TOK)),
 "resLookup": lambda p: c(gql.status(BASE, *p)),
 "reply": lambda p: c(gql.gql(BASE, 'mutation { replyAsCitizen(reference: "%s", trackingCode: "%s", body: "Tack") { reference } }' % p, None)),
 "submit": lambda p: c(gql.submit(BASE, "Gatlampan vid Ekvägen är trasig")),
 "ready": lambda p: ready(),
}
names = ["queue","searchText","byRef","accessLog","stats"]
ex = cf.ThreadPoolExecutor(64); tot = {}
seeds = list(ex.map(lambda i: gql.submit(BASE, "Gatlampan vid Parkvägen %d är trasig" % i), range(8)))
pairs = [(s[1]["data"]["submitRequest"]["request"]["reference"], s[1]["data"]["submitRequest"]["trackingCode"]) for s in seeds]
for rnd in range(ROUNDS):
  for d in DELAYS:
    # warm: 48 parallel mixed
    list(ex.map(lambda i: ops[names[i % len(names)]](pairs[i % 8]), range(48)))
    n = kill()
    if d: time.sleep(d)
    def safe(i):
        try: return names[i % len(names)], ops[names[i % len(names)]](pairs[i % 8])
        except Exception as e: return names[i % len(names)], "EXC " + type(e).__name__
    res = list(ex.map(safe, range(54)))
    # second wave right after
    res2 = list(ex.map(safe, range(54)))
    bad = [(k, v) for k, v in res if not (v.endswith(":ok") or v in ("200",))]
    bad2 = [(k, v) for k, v in res2 if not (v.endswith(":ok") or v in ("200",))]
    print(json.dumps({"round": rnd, "delay": d, "killed": n, "wave1_bad": bad, "wave2_bad": bad2})); sys.stdout.flush()
    for k, v in res + res2: tot.setdefault(k, {}).setdefault(v, 0); tot[k][v] += 1
    time.sleep(0.5)
for k, v in tot.items(): print(k, json.dumps(v))
