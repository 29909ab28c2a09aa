# After a PG stall: for each 503'd / acked submission, rows/events stored; retry 503'd with the same key; recount.
import json, subprocess, sys
from lib import gql, SUBMIT
recs = json.load(open(sys.argv[1])); base = sys.argv[2]; db = sys.argv[3]
def cnt(key):
    return subprocess.run(["psql","-h","127.0.0.1","-p","55432","-U","postgres","-d",db,"-Atc",
        f"select count(*) || '/' || coalesce(sum((select count(*) from request_events e where e.request_id=r.id)),0) from requests r where description like '%{key}%'"],capture_output=True,text=True).stdout.strip()
acked = [r for r in recs if r["outcome"]=="acked"]; failed = [r for r in recs if r["outcome"] not in ("acked","429:RATE_LIMITED")]
bad = [(r["key"], cnt(r["key"])) for r in acked]; bad = [b for b in bad if not b[1].startswith("1/") or b[1] == "1/0"]
print("acked:", len(acked), "acked not stored exactly once with history:", bad)
print("failed (rows/events) before retry:", [cnt(r["key"]) for r in failed])
st = [gql(SUBMIT, {"i": {"description": f"Hål i vägen vid Parkgatan, märkning {r['key']}", "idempotencyKey": r["key"]}}, base=base)[0] for r in failed]
print("retry statuses:", st)
print("failed (rows/events) after retry:", [cnt(r["key"]) for r in failed])
