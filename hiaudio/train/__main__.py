"""python -m hiaudio.train MODEL [--config FILE] [--set key=value ...]

Runs the same way on one CPU, one GPU, or under torchrun:
    torchrun --nproc_per_node 4 -m hiaudio.train MODEL --set steps=20000
(add --nnodes/--node_rank/--rdzv_endpoint for several hosts).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from hiaudio.train import cards, tasks
from hiaudio.train.config import resolve
from hiaudio.train.loop import fit, seed_everything


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hiaudio.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help=f"one of: {', '.join(sorted(tasks.TASKS)) or '(none yet)'}, "
                                      "or a task module path")
    parser.add_argument("--config", help="JSON file of config values")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config value (repeatable)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--ship", metavar="NAME.pt",
                        help="after training, copy the best checkpoint to assets/NAME.pt and write its card")
    args = parser.parse_args(argv)
    try:
        module = tasks.task_module(args.model)
        cfg = resolve(module.Config, args.config, args.set)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(vars(cfg), indent=2))
        return 0
    seed_everything(cfg.seed)  # the model's initial weights depend only on the seed
    task = module.build(cfg)
    result = fit(task, cfg, model_label=args.model.rsplit(".", 1)[-1])
    print(json.dumps(result, indent=2, default=float))
    if args.ship and int(os.environ.get("RANK", "0")) == 0:
        run_dir = cfg.out_dir.format(model=args.model.rsplit(".", 1)[-1])
        path = cards.ship(run_dir, args.ship, cards.command_line(argv if argv is not None else sys.argv[1:]))
        print(f"shipped {path} (card in {path.parent / cards.CARDS_FILE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
