"""Command line.

    python -m training run --dataset telco      train, explain and publish a bundle
    python -m training ensure                   train each built-in bundle that is missing or unreadable

Also runs under `spark-submit training/__main__.py run ...`; the master then
comes from spark-submit (or --master, or spark-defaults.conf; local[*] if none).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

if not __package__:
    # Run as a script (`spark-submit training/__main__.py`): import the package
    # from the repository root, not modules from inside training/.
    _root = str(Path(__file__).resolve().parents[1])
    sys.path[:] = [_root] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

BUILTIN_DATASETS = ("telco",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train, explain and publish a bundle")
    run.add_argument("--dataset", default="telco", help="built-in dataset (default: telco)")
    run.add_argument("--bundle", dest="bundle_name", help="bundle name (default: the dataset's name)")
    run.add_argument("--sample", type=int, help="train on a reproducible sample of this many customers")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--test-fraction", type=float, default=0.2)
    run.add_argument(
        "--tuning", choices=("off", "quick", "full"), default="quick",
        help="hyperparameter search on validation rows carved from train: off, quick (default, small grids) or full (wider)",
    )
    ensure = commands.add_parser("ensure", help="train each built-in bundle that is missing or unreadable")
    for sub in (run, ensure):
        sub.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="where bundles land (default: artifacts)")
        sub.add_argument("--master", help="Spark master; default: spark-submit's or spark-defaults', else local[*]")
    return parser


def _missing_bundles(artifacts: Path) -> list[str]:
    from bundle.reader import BundleError, open_bundle

    missing = []
    for name in BUILTIN_DATASETS:
        try:
            open_bundle(artifacts / name)
        except BundleError as exc:
            logging.getLogger("training").info("bundle %s needs training: %s", name, exc)
            missing.append(name)
    return missing


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("py4j", "XGBoost-PySpark", "shap"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from bundle.reader import BundleError
    from bundle.writer import check_bundle_name
    from training import pipeline
    from training.datasets import builtin
    from training.validate import ValidationError

    if args.command == "ensure":
        jobs = [(name, pipeline.RunConfig(artifacts=args.artifacts)) for name in _missing_bundles(args.artifacts)]
        if not jobs:
            print(f"All built-in bundles in {args.artifacts} are ready.")
            return 0
    else:
        try:
            builtin(args.dataset)
            check_bundle_name(args.bundle_name or args.dataset)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        except BundleError as exc:
            print(exc, file=sys.stderr)
            return 2
        config = pipeline.RunConfig(
            artifacts=args.artifacts,
            bundle_name=args.bundle_name,
            sample=args.sample,
            seed=args.seed,
            test_fraction=args.test_fraction,
            tuning=args.tuning,
        )
        jobs = [(args.dataset, config)]

    from training.spark import get_spark

    spark = get_spark("churnlens-training", args.master)
    try:
        for dataset, config in jobs:
            spec = builtin(dataset)
            try:
                bundle = pipeline.run(spark, spec, config)
            except ValidationError as exc:
                print(f"Input rejected for dataset '{spec.name}':", *(f"  - {p}" for p in exc.problems), sep="\n", file=sys.stderr)
                return 2
            except (BundleError, ValueError) as exc:
                print(f"Training '{spec.name}' failed: {exc}", file=sys.stderr)
                return 1
            print(f"Published bundle '{bundle.name}' at {bundle.path}")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
