#!/bin/sh
# Two ~1 KB anonymous requests block both tokio workers; a trivial query waits for them.
N=${1:-27}; URL=${2:-http://127.0.0.1:18090/graphql}
python3 frag_double.py $N $URL & python3 frag_double.py $N $URL &
sleep 1
t0=$(date +%s.%N); curl -s -m 120 $URL -H content-type:application/json -d '{"query":"{__typename}"}'; echo; t1=$(date +%s.%N)
echo "trivial query took $(echo "$t1 - $t0" | bc) s"
wait
