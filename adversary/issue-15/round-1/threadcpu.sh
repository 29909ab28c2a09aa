#!/bin/bash
# per-thread-name CPU seconds of a pid over an interval: threadcpu.sh PID SECS
P=$1; S=$2
snap(){ for t in /proc/$P/task/*; do echo "$(cat $t/comm) $(awk '{print $14+$15}' $t/stat)"; done | awk '{a[$1]+=$NF} END{for(k in a) print k, a[k]}' | sort; }
snap > /tmp/adv15/tc1; sleep $S; snap > /tmp/adv15/tc2
join /tmp/adv15/tc1 /tmp/adv15/tc2 | awk -v s=$S '{printf "%-24s %.2f cores\n", $1, ($3-$2)/100/s}'
join -v2 /tmp/adv15/tc1 /tmp/adv15/tc2 | awk -v s=$S '{printf "%-24s(new) %.2f cores\n", $1, $2/100/s}'
