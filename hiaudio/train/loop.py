"""The training loop every hiaudio model goes through: one CPU, one GPU or many under torchrun.

    task = tasks.build("salience", cfg)      # model, data, loss -- see tasks.py
    metrics = fit(task, cfg)

What it does for every model: deterministic seeds and data order (a DistributedSampler seeded
by the config, so a run resumed from `last.pt` replays exactly the batches it would have seen),
AdamW with warm-up and gradient clipping, bfloat16 autocast on CUDA, a progress bar and a CSV
metrics log, validation with early stopping, self-describing checkpoints (`last.pt` with the
optimizer and RNG state, `best.pt` with the weights), a loud stop on a NaN loss, and a final
evaluation written to `eval.json`. Under torchrun (WORLD_SIZE > 1) it wraps the model in
DistributedDataParallel -- gloo on CPU, NCCL on GPU -- and checks that the replicas agree.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from hiaudio import checkpoints
from hiaudio.train.config import TrainConfig, to_dict


@dataclasses.dataclass
class Task:
    """What a model brings to the loop."""
    model: torch.nn.Module
    model_name: str  # registry name (hiaudio.checkpoints.MODELS), stored in checkpoints
    model_kwargs: dict  # constructor kwargs, stored in checkpoints
    train_set: Dataset
    loss_fn: Callable[[torch.nn.Module, Any], tuple[torch.Tensor, dict]]  # (loss, float metrics)
    val_set: Dataset | None = None
    evaluate: Callable[[torch.nn.Module], dict] | None = None  # final held-out evaluation
    monitor: Callable[[torch.nn.Module], dict] | None = None  # costly validation metrics, every cfg.monitor_every steps
    # (attribute of the model, registry name, kwargs): best.pt holds only that part (a GAN's
    # generator); last.pt always holds the whole model
    shipped: tuple[str, str, dict] | None = None
    collate_fn: Callable | None = None
    data_version: str = ""


@dataclasses.dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_kind: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    backend = "nccl" if device_kind == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' takes the GPU when there is one."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device=cuda was asked for, but no CUDA device is visible")
        return torch.device("cuda", local_rank)
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {"torch": torch.get_rng_state(),
            "numpy": {"keys": torch.as_tensor(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                      "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
            "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]}}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))


def _to_device(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    return cfg.lr


class _MetricsLog:
    """metrics.csv: step, split, name, value -- one row per number, appended across resumes."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled

    def write(self, step: int, split: str, metrics: dict) -> None:
        if not self.enabled:
            return
        new = not self.path.exists()
        with open(self.path, "a", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(["step", "split", "name", "value"])
            for name, value in metrics.items():
                writer.writerow([step, split, name, f"{float(value):.6g}"])


def _validate(task: Task, model: torch.nn.Module, cfg: TrainConfig, device, autocast) -> dict:
    loader = DataLoader(task.val_set, batch_size=cfg.batch_size, shuffle=False,
                        collate_fn=task.collate_fn, num_workers=0)
    totals: dict[str, float] = {}
    count = 0
    model.eval()
    with torch.no_grad(), autocast():
        for batch in loader:
            loss, metrics = task.loss_fn(model, _to_device(batch, device))
            n = 1
            totals["loss"] = totals.get("loss", 0.0) + float(loss) * n
            for k, v in metrics.items():
                totals[k] = totals.get(k, 0.0) + float(v) * n
            count += n
    model.train()
    return {k: v / max(count, 1) for k, v in totals.items()}


def widened(small: dict, wide: dict) -> dict:
    """The state of a wider network that computes what `small` computes: each tensor of `small`
    fills the leading block of `wide`'s (same names, same number of dimensions, no dimension
    smaller), the rest of `wide` is kept, and a layer's old outputs read none of the new inputs
    (weights [:out_small, in_small:] are zero). For networks whose layers read only the layer
    before (a plain stack of convolutions and norms): the new channels start with `wide`'s random
    weights but the old channels and the output are unchanged, so training continues from the
    small model and the new width learns what it can add (Chen et al. 2016, Net2Net, in its
    zero-initialized form)."""
    out = {}
    for key, w in wide.items():
        s = small.get(key)
        if s is None or s.dim() != w.dim() or any(a > b for a, b in zip(s.shape, w.shape)):
            raise ValueError(f"{key}: {tuple(s.shape) if s is not None else 'missing'} cannot widen to {tuple(w.shape)}")
        w = w.clone()
        if s.dim() >= 2 and s.shape[1] < w.shape[1]:
            w[:s.shape[0], s.shape[1]:] = 0
        w[tuple(slice(0, n) for n in s.shape)] = s
        out[key] = w
    return out


def start_from(module: torch.nn.Module, path: str, name: str, widen: bool = False) -> None:
    """A new run's starting weights (`init_from`): load the checkpoint at `path`, which must hold
    a `name` model whose weights fit `module` (other settings that leave the weights' shapes
    alone, such as a WaveGrad's noise, may differ); otherwise a ValueError that says what differs.
    widen: the checkpoint may be a narrower model of the same layers (`widened`)."""
    data = checkpoints.read_checkpoint(path)
    try:
        if data.get("model") != name:
            raise ValueError(f"it holds a {data.get('model')} model, not a {name}")
        state = data["state"]
        if widen:
            state = widened(state, module.state_dict())
        module.load_state_dict(state)
    except (RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(f"init_from {path} ({data.get('model')}, settings {data.get('kwargs')}) cannot start "
                         f"this {name}: {first}. Set the same model settings.") from None


def _shipped_part(task: Task, model: torch.nn.Module) -> tuple[torch.nn.Module, str, dict]:
    """(module, registry name, kwargs) of what best.pt holds: the model, or its shipped part."""
    if task.shipped is None:
        return model, task.model_name, task.model_kwargs
    attr, name, kwargs = task.shipped
    return getattr(model, attr), name, kwargs


def fit(task: Task, cfg: TrainConfig, model_label: str | None = None) -> dict:
    """Train `task` under `cfg`; returns the final metrics (also in out_dir/eval.json)."""
    label = model_label or task.model_name
    device_kind = pick_device(cfg.device).type
    rt = _setup_distributed(device_kind)
    device = pick_device(cfg.device, rt.local_rank)
    if device.type == "cpu" and cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir.format(model=label))
    if rt.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps({"model": label, **to_dict(cfg)}, indent=2))
    model = task.model.to(device)  # built after `seed_everything(cfg.seed)`: same on every rank
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, bad_validations = 0, math.inf, 0
    last_path = out / "last.pt"
    if cfg.resume and last_path.exists():
        data = checkpoints.read_checkpoint(last_path)
        model.load_state_dict(data["state"])
        optimizer.load_state_dict(data["optimizer"])
        step, best, bad_validations = data["step"], data["best"], data["bad_validations"]
        _set_rng_state(data["rng"])
    else:
        seed_everything(cfg.seed + rt.rank)
    ddp_model = model
    if rt.world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[rt.local_rank] if device.type == "cuda" else None)
    use_amp = cfg.amp and device.type == "cuda"

    def autocast():
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp)

    sampler = DistributedSampler(task.train_set, num_replicas=rt.world, rank=rt.rank, shuffle=True,
                                 seed=cfg.seed, drop_last=True)
    # its own generator: starting an iterator must not draw from the global RNG (dropout's),
    # or a resumed run would drift from an uninterrupted one
    loader = DataLoader(task.train_set, batch_size=cfg.batch_size, sampler=sampler, drop_last=True,
                        collate_fn=task.collate_fn, num_workers=cfg.num_workers,
                        generator=torch.Generator().manual_seed(cfg.seed))
    per_epoch = len(loader)
    if per_epoch == 0:
        raise ValueError(f"the training set ({len(task.train_set)} items over {rt.world} processes) "
                         f"holds less than one batch of {cfg.batch_size}; lower batch_size")
    log = _MetricsLog(out / "metrics.csv", rt.main)

    def save_last():
        if rt.main:
            checkpoints.save_checkpoint(last_path, model, task.model_name, task.model_kwargs, to_dict(cfg),
                                        {"best_val": best}, task.data_version,
                                        extra={"optimizer": optimizer.state_dict(), "step": step, "best": best,
                                               "bad_validations": bad_validations, "rng": _rng_state()})

    progress = None
    if rt.main:
        from tqdm import tqdm
        progress = tqdm(total=cfg.steps, initial=step, desc=f"train {label}", unit="step",
                        mininterval=2.0, dynamic_ncols=True)
    started, run_steps, stop_reason = time.time(), 0, "steps"
    data_iter = None
    ddp_model.train()
    while step < cfg.steps:
        epoch, within = divmod(step, per_epoch)
        if data_iter is None or within == 0:
            sampler.set_epoch(epoch)
            data_iter = iter(loader)
            for _ in range(within):  # resumed mid-epoch: skip what was already seen
                next(data_iter)
        batch = _to_device(next(data_iter), device)
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, cfg)
        with autocast():
            loss, metrics = task.loss_fn(ddp_model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        loss_value = loss.detach().float().clone()
        if rt.world > 1:
            dist.all_reduce(loss_value)
            loss_value /= rt.world
        if not torch.isfinite(loss_value):
            raise RuntimeError(f"Detected NaN loss at step {step}")
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        run_steps += 1
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{float(loss_value):.4g}", refresh=False)
        if step % cfg.log_every == 0 or step == cfg.steps:
            log.write(step, "train", {"loss": float(loss_value), "lr": _lr_at(step - 1, cfg),
                                      **{k: float(v) for k, v in metrics.items()}})
        stop = False
        if task.val_set is not None and (step % cfg.val_every == 0 or step == cfg.steps):
            flag = torch.zeros(1)
            if rt.main:
                val = _validate(task, model, cfg, device, autocast)
                log.write(step, "val", val)
                if val["loss"] < best:
                    best, bad_validations = val["loss"], 0
                    checkpoints.save_checkpoint(out / "best.pt", *_shipped_part(task, model),
                                                to_dict(cfg), {"step": step, **val}, task.data_version)
                else:
                    bad_validations += 1
                    if cfg.patience and bad_validations >= cfg.patience:
                        flag[0] = 1
            if rt.world > 1:
                dist.broadcast(flag, 0)
            if flag.item():
                stop, stop_reason = True, "early stopping"
            save_last()
        if task.monitor is not None and cfg.monitor_every and step % cfg.monitor_every == 0 and rt.main:
            with torch.no_grad():
                log.write(step, "val", task.monitor(model))
            model.train()
        if cfg.stop_after and run_steps >= cfg.stop_after and step < cfg.steps:
            stop, stop_reason = True, "stop_after"
        if cfg.max_minutes and (time.time() - started) > 60 * cfg.max_minutes:
            stop, stop_reason = True, "time budget"
        if stop:
            break
    if progress is not None:
        progress.close()
    save_last()

    result = {"model": label, "steps": step, "stopped_by": stop_reason, "world_size": rt.world,
              "device": str(device), "wall_s": round(time.time() - started, 2), "best_val": best}
    if rt.world > 1:
        flat = torch.cat([p.detach().float().flatten().cpu() for p in model.parameters()])
        gathered = [torch.zeros_like(flat) for _ in range(rt.world)]
        dist.all_gather(gathered, flat)
        result["replicas_identical"] = all(torch.equal(gathered[0], g) for g in gathered[1:])
    if rt.main:
        if stop_reason != "stop_after" and task.evaluate is not None:
            if (out / "best.pt").exists():
                _shipped_part(task, model)[0].load_state_dict(checkpoints.read_checkpoint(out / "best.pt")["state"])
            model.eval()
            with torch.no_grad():
                result.update(task.evaluate(model))
        (out / "eval.json").write_text(json.dumps(result, indent=2, default=float))
    if rt.world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result
