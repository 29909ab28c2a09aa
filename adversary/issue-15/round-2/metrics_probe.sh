#!/bin/sh
# /metrics from the non-loopback address with spoofed headers; server on 0.0.0.0:18090, TRUST_FORWARDED_FOR=true
IP=$(hostname -I | awk '{print $1}')
for h in "X-Forwarded-For: 127.0.0.1" "X-Real-IP: 127.0.0.1" "Forwarded: for=127.0.0.1" "Host: localhost" "X-Forwarded-For: ::1"; do echo "== $IP [$h]: $(curl -s -o /dev/null -w %{http_code} -H "$h" http://$IP:18090/metrics)"; done
echo "== $IP no header: $(curl -s -o /dev/null -w %{http_code} http://$IP:18090/metrics)"
echo "== loopback: $(curl -s -o /dev/null -w %{http_code} http://127.0.0.1:18090/metrics)"
echo "== [::1]: $(curl -s -m 2 -o /dev/null -w %{http_code} 'http://[::1]:18090/metrics')"
echo "== [fd00::2]: $(curl -s -m 2 -o /dev/null -w %{http_code} 'http://[fd00::2]:18090/metrics')"
echo "== [::ffff:127.0.0.1]: $(curl -s -m 2 -o /dev/null -w %{http_code} 'http://[::ffff:127.0.0.1]:18090/metrics')"
for p in /metrics/ //metrics /Metrics '/metrics?x=1' /%6detrics /./metrics /graphql/../metrics; do echo "== $p $(curl -s --path-as-is -o /dev/null -w %{http_code} http://$IP:18090$p)"; done
echo "== bearer junk: $(curl -s -o /dev/null -w %{http_code} -H 'Authorization: Bearer x' http://$IP:18090/metrics)"
