#!/bin/bash
# Resume composer runs to convergence on a CPU, one run at a time per chain (issue 19):
# each run continues from its own out_dir/last.pt with a 6000-step budget and early stopping
# (patience 5 validations), so a run killed at a session's end resumes exactly where it was.
#
#   RUNS=/work/wt-composer/runs scripts/composer_converge.sh "learned 0" "learned 1" &
#   RUNS=/work/wt-composer/runs scripts/composer_converge.sh "rpe 0" "rpe 1" &
#
# A run that does not exist yet starts from scratch with the same schedule (equal compute).
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs}
STEPS=${STEPS:-6000}
for spec in "$@"; do
  pe=${spec% *}; seed=${spec#* }
  run="$RUNS/composer_${pe}_s${seed}"
  echo "$(date +%T) start $run"
  OMP_NUM_THREADS=1 nice -n 10 python -m hiaudio.train composer --set pe="$pe" --set seed="$seed" \
      --set steps="$STEPS" --set threads=1 --set out_dir="$run" >> "$run.converge.log" 2>&1
  echo "$(date +%T) done $run rc=$?"
done
