import json, urllib.request, sys, time, uuid
SUB = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference status category administration } trackingCode referral emergencyAdvice } }"
def gql(base, query, variables=None, token=None, timeout=60):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(base + "/graphql", data=body, headers={"content-type": "application/json"})
    if token: req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        try: return e.code, json.loads(e.read())
        except Exception: return e.code, None
def submit(base, desc, key=None, timeout=60):
    i = {"description": desc}
    if key: i["idempotencyKey"] = key
    return gql(base, SUB, {"i": i}, timeout=timeout)
def status(base, ref, code):
    return gql(base, '{ request(reference: "%s", trackingCode: "%s") { status categoryName history { kind status message at } } }' % (ref, code))
if __name__ == "__main__":
    base = sys.argv[1]
    s, r = submit(base, "Gatlampan utanför Storgatan 12 är trasig", "reg-" + uuid.uuid4().hex)
    print(s, json.dumps(r))
    d = r["data"]["submitRequest"]
    print(status(base, d["request"]["reference"], d["trackingCode"]))
    print(status(base, d["request"]["reference"], "AAAA-AAAA-AAAA-AAAA"))
