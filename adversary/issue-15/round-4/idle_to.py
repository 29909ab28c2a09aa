import sys, os, json, time, subprocess, concurrent.futures as cf
sys.path.insert(0, os.path.dirname(__file__)); import gql
BASE, GAP, N = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
TOK = open("/tmp/adv15r4/tok_h.txt").read().strip(); TOKCC = open("/tmp/adv15r4/tok_cc.txt").read().strip()
def c(r):
    s, b = r
    return "%d:%s" % (s, b["errors"][0].get("extensions", {}).get("code") if b and b.get("errors") else "ok")
s, r = gql.submit(BASE, "Gatlampan vid Parkvägen är trasig"); d = r["data"]["submitRequest"]; p = (d["request"]["reference"], d["trackingCode"])
ops = [("queue", lambda: c(gql.gql(BASE, '{ queue(code: "TF", first: 5) { nodes { reference } } }', None, TOK))),
       ("searchText", lambda: c(gql.gql(BASE, '{ searchRequests(filter: {text: "Gatlampan"}, first: 5) { nodes { reference } } }', None, TOKCC))),
       ("claimNext", lambda: c(gql.gql(BASE, 'mutation { claimNextRequest(queue: "TF") { reference } }', None, TOK))),
       ("addComment", lambda: c(gql.gql(BASE, 'mutation { addComment(reference: "%s", body: "x", internal: true) { reference } }' % p[0], None, TOK))),
       ("resLookup", lambda: c(gql.status(BASE, *p))),
       ("submit", lambda: c(gql.submit(BASE, "Gatlampan vid Ekvägen är trasig")))]
tot = {}; seq = []
for i in range(N):
    name, f = ops[i % len(ops)]
    ex = cf.ThreadPoolExecutor(4)
    res = list(ex.map(lambda _: f(), range(4)))   # 4 parallel of the same kind
    for v in res: tot.setdefault(name, {}).setdefault(v, 0); tot[name][v] += 1
    if any(not v.endswith(":ok") for v in res): seq.append((round(i*GAP,1), name, res))
    time.sleep(GAP)
print("failures:", json.dumps(seq)); 
for k, v in tot.items(): print(k, json.dumps(v))
