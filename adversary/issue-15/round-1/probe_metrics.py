# Anonymous caller learns of a confidential arrival from /metrics (public).
import sys, urllib.request, re, time, uuid
from lib import *
def soc_gauges():
    m = urllib.request.urlopen(BASE + "/metrics").read().decode()
    return {k: v for k, v in re.findall(r'envagin_queue_requests\{(queue="(?:SOC|VOF|TRIAGE)",status="[a-z_]+")\} (\S+)', m) if float(v) > 0}
print("before", soc_gauges())
s, r = gql(SUBMIT, {"i": {"description": "Jag behöver ekonomiskt bistånd, försörjningsstöd, jag har inga pengar till hyran och mat denna månad", "idempotencyKey": str(uuid.uuid4())}})
print(s, r)
print("after ", soc_gauges())
s, r = gql(SUBMIT, {"i": {"description": "Min mamma behöver hemtjänst, hjälp i hemmet med dusch och matlagning, hon är 87 år", "idempotencyKey": str(uuid.uuid4())}})
print(s, r)
print("after2", soc_gauges())
