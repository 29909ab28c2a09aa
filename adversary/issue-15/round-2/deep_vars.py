# Deep JSON in `variables` (serde_json's 128 limit?) and into input coercion. usage: python3 deep_vars.py DEPTH [url]
import json, sys, urllib.request
d = int(sys.argv[1]); url = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:18091/graphql"
q = 'query($a: [Int]) { __typename }'
for name, v in [("list", "[" * d + "]" * d), ("obj", '{"a":' * d + "1" + "}" * d)]:
    body = ('{"query": %s, "variables": {"a": %s}}' % (json.dumps(q), v)).encode()
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r: print(name, len(body), r.status, r.read()[:160])
    except urllib.error.HTTPError as e: print(name, len(body), e.code, e.read()[:160])
    except Exception as e: print(name, len(body), type(e).__name__, e)
