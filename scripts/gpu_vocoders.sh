#!/usr/bin/env bash
# Issue 18 on a lent GPU: SpecDiff-GAN and WaveGrad (PriorGrad prior) trained side by side for a few
# minutes, shipped with their cards, and scored (PESQ-WB) on the validation voices.
#
#   bash scripts/gpu_vocoders.sh prepare   # here, once: clip packs + the wheels the GPU machine lacks
#   bash scripts/gpu_vocoders.sh run       # on the GPU machine (device tool); results under $OUT
#
# Why `prepare`: the voices are rendered by espeak-ng and MBROLA (Debian packages), which the bare
# GPU machine lacks and cannot install, so the training and validation clips travel as lossless
# FLAC packs (python -m hiaudio.data vocoder-pack: 1,000 training clips ~37 MB, 32 validation
# clips ~1 MB) in .cache/vocoder_pack; soundfile (+ cffi, pycparser) and pesq (no binary wheel on
# PyPI: built here for CPython 3.12, the GPU image's) travel as wheels in .cache/wheels. Both
# folders are ignored by git: name them in the device tool's `carry`.
#
# `run`: both trainings at once on the one GPU (each is small: sharing it costs little), fp32 (amp
# off: the generator's iSTFT and the STFT losses want fp32; cuDNN's convolutions use TF32 anyway),
# GAN_MINUTES / WG_MINUTES of training, then WaveGrad's schedule search, each shipped by the
# training command's --ship into this tree's assets/ (its card in assets/MODELS.md), then
# scripts/vocoder_validation.py on the 32 validation clips. A run continues from what ships:
# assets/specdiff_gan.pt (if any) starts the generator (init_from, a short warm-up), and
# assets/wavegrad.pt starts WaveGrad when it was trained with the same prior. Back in $OUT (7
# files): specdiff_gan.pt, wavegrad.pt, MODELS.md (copy the three into assets/), the two runs'
# metrics.csv, validation.json, log.txt (a training stopped by the guard before shipping leaves
# NAME_best_unshipped.pt instead: no card; rerun to ship). Every setting can be overridden from the environment;
# the CPU check runs it tiny (DEVICE=cpu, see the end of this file).
set -euo pipefail
cd "$(dirname "$0")/.."

PACK=${PACK:-.cache/vocoder_pack}
WHEELS=${WHEELS:-.cache/wheels}
N_TRAIN=${N_TRAIN:-1000}  # training clips (the pack holds them; carry size grows ~37 kB a clip)
N_VAL=${N_VAL:-32}  # validation clips: voices never heard in training
DEVICE=${DEVICE:-cuda}  # cuda: fail loudly rather than train on the CPU by mistake
GAN_MINUTES=${GAN_MINUTES:-6.0}  # wall-clock budget of each training (then evaluation and shipping)
WG_MINUTES=${WG_MINUTES:-5.0}  # shorter: its schedule search (~1 min) follows
GAN_BATCH=${GAN_BATCH:-32}  # 4x the CPU run's 8
WG_BATCH=${WG_BATCH:-64}  # 4x the CPU run's 16
THREADS=${THREADS:-4}  # torch CPU threads per training (PESQ, data): 2 trainings on 16 cores
GUARD_S=${GUARD_S:-520}  # each training is killed past this (its best.pt so far stays)
GAN_SETS=${GAN_SETS:-}  # extra "--set key=value" for SpecDiff-GAN (the CPU check's tiny settings)
WG_SETS=${WG_SETS:-}
RUNS=${RUNS:-/tmp/hiaudio_runs}

prepare() {
    python -m hiaudio.data vocoder-pack --split train --n "$N_TRAIN" --out "$PACK"
    python -m hiaudio.data vocoder-pack --split validation --n "$N_VAL" --out "$PACK"
    mkdir -p "$WHEELS"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$WHEELS" soundfile==0.14.0 cffi==2.1.1 pycparser==3.12
    # pesq ships no wheels: build one for CPython 3.12 (links only GLIBC <= 2.14 symbols)
    PY312=${PY312:-$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python 2>/dev/null | head -1)}
    [ -n "$PY312" ] || { echo "error: no python3.12 here to build the pesq wheel; set PY312" >&2; exit 2; }
    "$PY312" -m pip wheel -q --no-deps -w "$WHEELS" pesq==0.0.4
    du -sh "$PACK" "$WHEELS"
}

run() {
    : "${OUT:?set OUT: the folder whose files come back}"
    if ! python3 -c "import soundfile, pesq" 2>/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            "$WHEELS"/*.whl
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    python3 -c "import torch, soundfile, pesq; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
    rm -rf "$RUNS" && mkdir -p "$RUNS/shipped" && touch "$RUNS/started"
    export PYTHONUNBUFFERED=1
    local common="--set device=$DEVICE --set amp=false --set threads=$THREADS --set pack=$PACK"
    common="$common --set n_train=$N_TRAIN --set n_val=$N_VAL --set steps=1000000"
    local gan_init="" wg_init=""
    if [ -f assets/specdiff_gan.pt ]; then  # continue what ships: its generator, a short warm-up
        gan_init="--set init_from=assets/specdiff_gan.pt --set gan_start=200"
    fi
    if python3 -c "import sys, torch; d = torch.load('assets/wavegrad.pt', weights_only=True)
sys.exit(d['kwargs'].get('noise', 'white') != 'priorgrad')" 2>/dev/null; then
        wg_init="--set init_from=assets/wavegrad.pt"  # same prior: continue it (else: from scratch)
    fi
    # shellcheck disable=SC2086  # the --set lists split into words on purpose
    timeout "$GUARD_S" python3 -m hiaudio.train specdiff_gan $common --set out_dir="$RUNS/specdiff_gan" \
        --set batch_size="$GAN_BATCH" --set max_minutes="$GAN_MINUTES" $gan_init $GAN_SETS \
        --ship specdiff_gan.pt > "$RUNS/specdiff_gan.log" 2>&1 &
    local gan=$!
    # shellcheck disable=SC2086
    timeout "$GUARD_S" python3 -m hiaudio.train wavegrad $common --set out_dir="$RUNS/wavegrad" \
        --set batch_size="$WG_BATCH" --set max_minutes="$WG_MINUTES" --set noise=priorgrad $wg_init $WG_SETS \
        --ship wavegrad.pt > "$RUNS/wavegrad.log" 2>&1 &
    local wg=$!
    local gan_rc=0 wg_rc=0
    wait "$gan" || gan_rc=$?
    wait "$wg" || wg_rc=$?
    for name in specdiff_gan wavegrad; do
        echo "==== $name (the last lines of its log: progress, then its final metrics)"
        tr '\r' '\n' < "$RUNS/$name.log" | grep -v '^\s*$' | tail -n 40 || true  # grep: 1 on an empty log
        cp "$RUNS/$name/metrics.csv" "$OUT/${name}_metrics.csv" 2>/dev/null || true
        if [ "$(find "assets/$name.pt" -newer "$RUNS/started" 2>/dev/null)" ]; then
            cp "assets/$name.pt" "$OUT/" && cp "assets/$name.pt" "$RUNS/shipped/"  # shipped by this run
        elif [ -f "$RUNS/$name/best.pt" ]; then
            cp "$RUNS/$name/best.pt" "$OUT/${name}_best_unshipped.pt"  # stopped before --ship: keep what it had
        fi
    done
    cp assets/MODELS.md "$OUT/"
    echo "==== exit status: specdiff_gan $gan_rc, wavegrad $wg_rc (124: stopped by the ${GUARD_S} s guard)"
    # what this run shipped (not an older checkpoint the tree came with)
    python3 scripts/vocoder_validation.py --pack "$PACK" --n "$N_VAL" --assets "$RUNS/shipped" \
        --out "$OUT/validation.json"
}

case "${1:-run}" in
    prepare) prepare ;;
    run) run 2>&1 | tee "${OUT:?set OUT}/log.txt" ;;
    *) echo "usage: bash scripts/gpu_vocoders.sh [prepare|run]" >&2; exit 2 ;;
esac

# The CPU check (tiny networks, a few steps; run in a copy of the tree, since it ships into assets/):
# (.cache: where `prepare` left the packs; batches under the 8 clips, or the loop refuses the run)
#   git worktree add /tmp/gpucheck HEAD && cp -r .cache /tmp/gpucheck/ && cd /tmp/gpucheck && mkdir -p /tmp/out &&
#   DEVICE=cpu THREADS=1 N_TRAIN=8 N_VAL=4 GAN_MINUTES=0 WG_MINUTES=0 GAN_BATCH=4 WG_BATCH=4 OUT=/tmp/out \
#   GAN_SETS='--set steps=6 --set val_every=3 --set gan_start=2 --set monitor_every=3 --set n_monitor=2
#             --set generator={"channels":16,"upsample":[2],"frame_mrf":false,"phase":"integrated"}' \
#   WG_SETS='--set steps=6 --set val_every=3 --set monitor_every=3 --set n_monitor=1 --set channels=8,8,8,8,8' \
#   bash scripts/gpu_vocoders.sh run
