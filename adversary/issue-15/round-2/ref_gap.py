# Do public references leak live arrivals (incl. confidential SOC) by their sequence?
import json, sys, urllib.request, uuid
URL = "http://127.0.0.1:18090"
SUB = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference administration } trackingCode } }"
def sub(desc, hint=None):
    i = {"description": desc, "idempotencyKey": str(uuid.uuid4())}
    if hint: i["categoryHint"] = hint
    req = urllib.request.Request(URL + "/graphql", data=json.dumps({"query": SUB, "variables": {"i": i}}).encode(), headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())["data"]["submitRequest"]
a = sub("Trasig gatlampa på Storgatan 1")
for k in range(3): sub("Jag behöver ekonomiskt bistånd till hyran", "financial_assistance")
b = sub("Trasig gatlampa på Storgatan 2")
print("before:", a["request"], "after 3 SOC:", b["request"])
for p in ["/open311/v2/requests.json", "/open311/v2/services.json", "/open311/v2/requests/%s.json" % a["request"]["reference"]]:
    try: r = urllib.request.urlopen(URL + p).read()
    except urllib.error.HTTPError as e: r = b"%d " % e.code + e.read()
    print(p, r[:300])
lst = json.loads(urllib.request.urlopen(URL + "/open311/v2/requests.json").read())
print("anonymous Open311 list:", [(x["service_request_id"], x.get("requested_datetime")) for x in lst])
