#!/usr/bin/env bash
# Issue 19's comparison: the six positional encodings x 3 training seeds at equal compute (the
# same 2000-step budget, batch, schedule and early stopping for every run), trained in parallel,
# then bench/composer.py on the held-out test chorales, one bench process per encoding, merged.
#
#   scripts/composer_comparison.sh          # a GPU machine (16 cores + one GPU): all 18 runs at once
#   STEPS=3 SEEDS="0 1" N_PIECES=1 JOBS=1 RUNS=/tmp/cmp NAME=cmp_tiny scripts/composer_comparison.sh  # CPU check
#
# Env: STEPS (2000), SEEDS ("0 1 2"), PES (all six), JOBS (trainings at once; default all of them),
# RUNS (runs/cmp: composer_<pe>_s<seed>/ and .log each), N_PIECES (20 generated pieces per model),
# NAME (composer_comparison: bench/results/NAME.json), OUT (if set -- the device tool's $OUT --
# the merged results, the curves, the logs and the seed-0 checkpoints are copied there).
# Runs resume from their last.pt: after a cut-off call, the same command goes on where it stopped.
# On CUDA the loop trains in bfloat16 autocast (CPU runs are float32): compare runs of one machine.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-2000}
SEEDS=${SEEDS:-"0 1 2"}
PES=${PES:-"none sinusoidal learned rpe s-ape s-rpe"}
RUNS=${RUNS:-runs/cmp}
N_PIECES=${N_PIECES:-20}
NAME=${NAME:-composer_comparison}
n_runs=$(( $(wc -w <<<"$PES") * $(wc -w <<<"$SEEDS") ))
JOBS=${JOBS:-$n_runs}
mkdir -p "$RUNS"
started=$(date +%s)

for pe in $PES; do
  for seed in $SEEDS; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    run="$RUNS/composer_${pe}_s${seed}"
    OMP_NUM_THREADS=1 python -m hiaudio.train composer --set pe="$pe" --set seed="$seed" --set steps="$STEPS" \
      --set threads=1 --set out_dir="$run" > "$run.log" 2>&1 &
  done
done
wait
failed=0
for pe in $PES; do
  for seed in $SEEDS; do
    if [ ! -f "$RUNS/composer_${pe}_s${seed}/eval.json" ]; then
      echo "composer_${pe}_s${seed} did not finish: see $RUNS/composer_${pe}_s${seed}.log" >&2
      failed=1
    fi
  done
done
echo "trained $n_runs runs in $(( $(date +%s) - started )) s"
[ "$failed" = 0 ] || exit 1

seeds_csv=$(tr ' ' ',' <<<"$SEEDS")
names=()
for pe in $PES; do  # one bench process per encoding: sampling runs on one CPU thread each
  OMP_NUM_THREADS=1 python bench/composer.py --runs "$RUNS/composer_{pe}_s{seed}" --seeds "$seeds_csv" --pe "$pe" \
    --n-pieces "$N_PIECES" --skip-targets --name "${NAME}_$pe" > "$RUNS/bench_$pe.log" 2>&1 &
  names+=("${NAME}_$pe")
done
wait
merge=$(IFS=,; echo "${names[*]}")
python bench/composer.py --runs "$RUNS/composer_{pe}_s{seed}" --seeds "$seeds_csv" --pe "$(tr ' ' ',' <<<"$PES")" \
  --merge "$merge" --curves --skip-targets --name "$NAME"
echo "done in $(( $(date +%s) - started )) s"

if [ -n "${OUT:-}" ]; then
  cp "bench/results/$NAME.json" "$OUT/"
  tar czf "$OUT/runs_logs.tar.gz" "$RUNS"/*.log "$RUNS"/*/metrics.csv "$RUNS"/*/eval.json "$RUNS"/*/config.json \
    bench/results/"${NAME}"_*.json
  tar cf "$OUT/best_seed0.tar" "$RUNS"/*_s"${SEEDS%% *}"/best.pt
fi
