# Deadline bypass over WebSocket: submissions in flight when PostgreSQL backends are SIGSTOPped.
# usage: python3 ws_stall2.py STALL_SECS N
import asyncio, json, time, uuid, subprocess, sys, websockets
STALL = float(sys.argv[1]); N = int(sys.argv[2])
SUBMIT = "mutation($i: SubmitRequestInput!) { submitRequest(input: $i) { request { reference } trackingCode } }"
def backends():
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", "55432", "-U", "postgres", "-Atc",
        "select pid from pg_stat_activity where datname='adv15a' and pid<>pg_backend_pid()"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]
async def main():
    pids = backends()
    async with websockets.connect("ws://127.0.0.1:18081/graphql/ws", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}})); await ws.recv()
        t0 = time.time(); keys = {}
        for i in range(N):
            keys[str(i)] = str(uuid.uuid4())
            await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": SUBMIT, "variables": {"i": {"description": f"Trasig gatlampa på Drottninggatan {i}", "idempotencyKey": keys[str(i)]}}}}))
        await asyncio.sleep(0.01)
        for p in pids: subprocess.run(["kill", "-STOP", str(p)])
        print(f"t={time.time()-t0:.2f}s stopped {pids}")
        async def cont():
            await asyncio.sleep(STALL)
            for p in pids: subprocess.run(["kill", "-CONT", str(p)])
            print(f"t={time.time()-t0:.1f}s resumed")
        c = asyncio.create_task(cont())
        got = {}
        while len(got) < N:
            try: m = json.loads(await asyncio.wait_for(ws.recv(), timeout=STALL + 60))
            except asyncio.TimeoutError: break
            if m["type"] == "next":
                ok = m["payload"].get("data") and m["payload"]["data"].get("submitRequest")
                got[m["id"]] = (round(time.time()-t0,1), "ok" if ok else m["payload"]["errors"][0]["extensions"]["code"])
        await c
        times = sorted(got.values())
        print("answers (t, outcome):", times)
        json.dump(keys, open("/tmp/adv15/ws_stall2_keys.json", "w"))
asyncio.run(main())
