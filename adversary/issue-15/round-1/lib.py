import json, urllib.request, time, uuid, random
BASE = "http://127.0.0.1:18080"
def gql(query, variables=None, token=None, base=None, src=None, timeout=60, xff=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request((base or BASE) + "/graphql", data=body, headers={"content-type": "application/json"})
    if token: req.add_header("Authorization", "Bearer " + token)
    if xff: req.add_header("X-Forwarded-For", xff)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
SUBMIT = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference status category administration } trackingCode } }"
LOOKUP = "query($r: String!, $c: String!) { request(reference: $r, trackingCode: $c) { status category history { kind status at } } }"
STATS = "query($f: DateTime!, $t: DateTime!) { stats(from: $f, to: $t) { from to total byChannel { key count } byCategory { key count suppressed } byAdministration { key count suppressed } byStatus { key count } triagedShare reroutedShare firstContactResolution { channel category requests resolved } deflections { key count } } }"
