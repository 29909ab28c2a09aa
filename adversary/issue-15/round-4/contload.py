import sys, os, json, time, subprocess, threading, urllib.request
sys.path.insert(0, os.path.dirname(__file__)); import gql
BASE, DUR, KEVERY = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
TOK = open("/tmp/adv15r4/tok_h.txt").read().strip(); TOKCC = open("/tmp/adv15r4/tok_cc.txt").read().strip()
PSQL = ["psql", "-h", "127.0.0.1", "-p", "55600", "-U", "postgres", "-d", "envagin", "-At", "-c"]
def kill(): return subprocess.run(PSQL + ["SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='envagin' AND pid<>pg_backend_pid()"], capture_output=True, text=True).stdout.strip()
def c(r):
    s, b = r
    return "%d:%s" % (s, b["errors"][0].get("extensions", {}).get("code") if b and b.get("errors") else "ok")
s, r = gql.submit(BASE, "Gatlampan vid Parkvägen är trasig"); d = r["data"]["submitRequest"]; p = (d["request"]["reference"], d["trackingCode"])
def ready():
    try: return "%d:ok" % urllib.request.urlopen(BASE + "/ready", timeout=30).status
    except urllib.error.HTTPError as e: return "%d:http" % e.code
ops = [("queue", lambda: c(gql.gql(BASE, '{ queue(code: "TF", first: 5) { nodes { reference } } }', None, TOK))),
       ("searchText", lambda: c(gql.gql(BASE, '{ searchRequests(filter: {text: "Gatlampan"}, first: 5) { nodes { reference } } }', None, TOKCC))),
       ("addComment", lambda: c(gql.gql(BASE, 'mutation { addComment(reference: "%s", body: "x", internal: true) { reference } }' % p[0], None, TOK))),
       ("reply", lambda: c(gql.gql(BASE, 'mutation { replyAsCitizen(reference: "%s", trackingCode: "%s", body: "Tack") { reference } }' % p, None))),
       ("resLookup", lambda: c(gql.status(BASE, *p))),
       ("submit", lambda: c(gql.submit(BASE, "Gatlampan vid Ekvägen är trasig"))),
       ("ready", ready)]
tot = {}; lock = threading.Lock(); stop = time.monotonic() + DUR; fails = []
def worker(i):
    name, f = ops[i % len(ops)]
    while time.monotonic() < stop:
        try: v = f()
        except Exception as e: v = "EXC " + type(e).__name__
        with lock:
            tot.setdefault(name, {}).setdefault(v, 0); tot[name][v] += 1
            if not v.endswith(":ok"): fails.append((round(DUR - (stop - time.monotonic()), 2), name, v))
        time.sleep(0.05)
ts = [threading.Thread(target=worker, args=(i,)) for i in range(14)]
[t.start() for t in ts]
kills = []
while time.monotonic() < stop - 1:
    time.sleep(KEVERY); kills.append((round(DUR - (stop - time.monotonic()), 2), kill()))
[t.join() for t in ts]
print("kills:", kills); print("fails:", fails)
for k, v in tot.items(): print(k, json.dumps(v))
