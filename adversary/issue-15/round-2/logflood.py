# Flood refused previews (classify/answers/emergencyAdvice) + assorted refused things; count log lines added.
# usage: python3 logflood.py LOGFILE [n] [url]
import json, sys, time, urllib.request, concurrent.futures as cf
log = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
url = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:18090/graphql"
Q = ['{ a: classify(text:"gatlampa trasig") { category } b: classify(text:"hund") { category } }',
     '{ answers(question:"när töms soporna") { __typename } }',
     '{ emergencyAdvice(text:"det brinner") { __typename } }',
     '{ classify(text:"x") { category } }']
def post(body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r: return r.read()
    except urllib.error.HTTPError as e: return e.read()
    except Exception as e: return str(e).encode()
before = sum(1 for _ in open(log, errors="replace"))
bodies = []
for i in range(n):
    bodies.append({"query": Q[i % 4]})
    bodies.append([{"query": Q[j % 4]} for j in range(10)])  # batch
t = time.time()
with cf.ThreadPoolExecutor(8) as ex: res = list(ex.map(post, bodies))
after = sum(1 for _ in open(log, errors="replace"))
refused = sum(1 for r in res if b"RATE" in r.upper() or b"too many" in r.lower())
print(f"{len(bodies)} HTTP requests ({n*11} operations) in {time.time()-t:.1f}s; responses mentioning refusal: {refused}; log lines added: {after-before}")
print(res[-1][:300])
