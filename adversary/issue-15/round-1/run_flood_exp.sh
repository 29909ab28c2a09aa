#!/bin/bash
# usage: run_flood_exp.sh MODE CONC NADDR BATCH LABEL [base]
MODE=$1 CONC=$2 NADDR=$3 BATCH=$4 LABEL=$5 BASE=${6:-http://127.0.0.1:18080}
cd /tmp/adv15/tools
python3 flood.py $MODE $CONC 40 $NADDR $BATCH $BASE > /tmp/adv15/flood-$LABEL.json &
FP=$!
sleep 5
python3 probe.py 30 $LABEL $BASE
wait $FP
cat /tmp/adv15/flood-$LABEL.json
