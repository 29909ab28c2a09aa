# Admin stats: does rerouting an open request into a confidential category show up live?
import uuid, datetime as dt, json
from lib import *
ADMIN = open("/tmp/adv15/run1/admin.tok").read().strip()
CC = open("/tmp/adv15/run1/cc.tok").read().strip()
now = dt.datetime.now(dt.timezone.utc)
f = (now - dt.timedelta(days=3)).isoformat(); t = (now + dt.timedelta(days=1)).isoformat()
def snap(label):
    s, r = gql(STATS, {"f": f, "t": t}, token=ADMIN)
    st = r["data"]["stats"]
    print(label, "total", st["total"], "byChannel", st["byChannel"], "byStatus", st["byStatus"],
          "SOC", [c for c in st["byAdministration"] if c["key"] in ("SOC","TF")], "triaged", st["triagedShare"])
snap("start   ")
s, r = gql(SUBMIT, {"i": {"description": "Gatlampan utanför Storgatan 12 är trasig sedan en vecka", "idempotencyKey": str(uuid.uuid4())}})
ref = r["data"]["submitRequest"]["request"]["reference"]; print(r)
snap("open sub")
s, r = gql('mutation($r: String!) { rerouteRequest(reference: $r, category: "financial_assistance", reason: "gäller försörjningsstöd") { reference category administration } }', {"r": ref}, token=CC)
print(s, r)
snap("rerouted")
