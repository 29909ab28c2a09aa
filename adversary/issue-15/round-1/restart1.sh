#!/bin/bash
# (re)start the SQLite server in /tmp/adv15/run1 on :18080; extra env may be passed
cd /tmp/adv15/run1; [ -f server.pid ] && kill $(cat server.pid) 2>/dev/null; sleep 0.5
(env ENVAGIN_ADDR=0.0.0.0:18080 "$@" nohup /tmp/adv15/envagin >> server.log 2>&1 & echo $! > server.pid)
for i in $(seq 50); do curl -s -m1 127.0.0.1:18080/ready >/dev/null && break; sleep 0.2; done
