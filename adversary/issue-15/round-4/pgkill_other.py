"""After terminating every backend: web-form POST /, Open311 POST, and other staff/resident operations,
one kind per kill, fired in parallel right after the kill. Counts outcomes; checks stored-once."""
import sys, os, json, time, uuid, subprocess, urllib.request, urllib.parse, concurrent.futures as cf
sys.path.insert(0, os.path.dirname(__file__)); import gql
BASE, ROUNDS = sys.argv[1], int(sys.argv[2])
TOK = open("/tmp/adv15r4/tok_h.txt").read().strip(); TOKCC = open("/tmp/adv15r4/tok_cc.txt").read().strip()
PSQL = ["psql", "-h", "127.0.0.1", "-p", "55600", "-U", "postgres", "-d", "envagin", "-At", "-c"]
def sql(q): return subprocess.run(PSQL + [q], capture_output=True, text=True).stdout.strip()
def kill(): return sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='envagin' AND pid<>pg_backend_pid()")
run = uuid.uuid4().hex[:8]
def form(i):
    data = urllib.parse.urlencode({"idempotency_key": uuid.uuid4().hex, "lang": "sv", "description": "Gatlampan vid Torget %d är trasig form-%s-%d-%s" % (i, run, i, uuid.uuid4().hex[:6])}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(BASE + "/", data=data), timeout=30) as r: return "%d" % r.status
    except urllib.error.HTTPError as e: return "%d" % e.code
def o311(i):
    data = urllib.parse.urlencode({"service_code": "street_lighting", "description": "Gatlampan vid Torget %d är trasig o311-%s-%d-%s" % (i, run, i, uuid.uuid4().hex[:6])}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(BASE + "/open311/v2/requests.json", data=data), timeout=30) as r: return "%d" % r.status
    except urllib.error.HTTPError as e: return "%d" % e.code
def c(r):
    s, b = r
    return "%d:%s" % (s, b["errors"][0].get("extensions", {}).get("code") if b and b.get("errors") else "ok")
ex = cf.ThreadPoolExecutor(32); tot = {}
ONLY = sys.argv[3].split(",") if len(sys.argv) > 3 else None
ops = {
  "webform": lambda i, p: form(i),
  "open311": lambda i, p: o311(i),
  "claimNext": lambda i, p: c(gql.gql(BASE, 'mutation { claimNextRequest(queue: "TF") { reference } }', None, TOK)),
  "addComment": lambda i, p: c(gql.gql(BASE, 'mutation { addComment(reference: "%s", body: "not", internal: true) { reference } }' % p[0], None, TOK)),
  "reply": lambda i, p: c(gql.gql(BASE, 'mutation { replyAsCitizen(reference: "%s", trackingCode: "%s", body: "Tack") { reference } }' % p, None)),
  "search": lambda i, p: c(gql.gql(BASE, '{ searchRequests(filter: {reference: "%s"}) { nodes { reference } } }' % p[0], None, TOKCC)),
  "queue": lambda i, p: c(gql.gql(BASE, '{ queue(code: "TF", first: 5) { nodes { reference } } }', None, TOK)),
  "catalogue": lambda i, p: c(gql.gql(BASE, '{ catalogue { administrations { code } } }')),
  "ready": lambda i, p: str(urllib.request.urlopen(BASE + "/ready", timeout=30).status),
}
for rnd in range(ROUNDS):
    for name, fn in ops.items():
        if ONLY and name not in ONLY: continue
        seeds = list(ex.map(lambda i: gql.submit(BASE, "Gatlampan vid Parkvägen %d är trasig" % i), range(8)))
        pairs = [(s[1]["data"]["submitRequest"]["request"]["reference"], s[1]["data"]["submitRequest"]["trackingCode"]) for s in seeds]
        kill()
        def safe(i):
            try: return fn(i, pairs[i % 8])
            except Exception as e: return "EXC " + type(e).__name__
        res = list(ex.map(safe, range(8)))
        for r in res: tot.setdefault(name, {}).setdefault(r, 0); tot[name][r] += 1
        time.sleep(1.2)
for k, v in tot.items(): print(k, json.dumps(v))
print("webform stored:", sql("select count(*) from requests where description like '%%form-%s-%%'" % run), "distinct:", sql("select count(distinct description) from requests where description like '%%form-%s-%%'" % run))
print("open311 stored:", sql("select count(*) from requests where description like '%%o311-%s-%%'" % run), "distinct:", sql("select count(distinct description) from requests where description like '%%o311-%s-%%'" % run))
