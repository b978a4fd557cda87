"""Command line.

    python -m training run --dataset telco                train, explain and publish a built-in dataset
    python -m training run --config my.toml               ... or your own table, described by a TOML file
    python -m training run --dataset synthetic --customers 20000 --seed 7
    python -m training init-config my.toml --customers customers.csv   a commented starting config
    python -m training score --bundle NAME --input new.csv --output scored.parquet
                                                          batch scoring + drift report
    python -m training score --bundle NAME --input 2026-11.parquet --snapshot 2026-11
                                                          ... appended to the bundle's history instead
    python -m training export-telco-csv telco.csv         the built-in Telco table as CSV (for examples/)
    python -m training export-movielens-events examples/data [--users N]
                                        MovieLens ratings.csv + movies.csv (for examples/with_events.toml)
    python -m training ensure                             train each built-in bundle that is missing, unreadable
                                                          or written in an older schema version
    python -m training word2vec-neighbours PATH ITEM
                                                          neighbours of ITEM in a folder written by Spark's
                                                          Word2VecModel.save() (or a bundle's items/word2vec); no JVM

Also runs under `spark-submit training/__main__.py run ...`; the master then
comes from spark-submit (or --master, or spark-defaults.conf; local[*] if none).
Bad input (config, table, bundle) ends with a message and a non-zero exit code,
never a traceback, and publishes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ENSURED_DATASETS = ("telco", "movielens")


type Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = _run_parser(commands)
    ensure = commands.add_parser("ensure", help="train each built-in bundle that is missing or unreadable")
    _neighbours_parser(commands)
    init = _init_parser(commands)
    score = _score_parser(commands)
    _export_parsers(commands)
    for sub in (run, ensure, score):
        sub.add_argument(
            "--artifacts", type=Path, default=Path("artifacts"), help="where bundles live (default: artifacts)"
        )
    for sub in (run, ensure, init, score):
        sub.add_argument("--master", help="Spark master; default: spark-submit's or spark-defaults', else local[*]")
    return parser


def _run_parser(commands: Commands) -> argparse.ArgumentParser:
    run = commands.add_parser("run", help="train, explain and publish a bundle")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, help="built-in dataset: telco (default) or synthetic")
    source.add_argument("--config", type=Path, help="a TOML file describing your own table (see examples/)")
    run.add_argument("--bundle", dest="bundle_name", help="bundle name (default: the dataset's or config's name)")
    run.add_argument("--sample", type=int, help="train on a reproducible sample of this many customers")
    run.add_argument("--seed", type=int, default=None, help="default 42 (or the config's training.seed)")
    run.add_argument("--test-fraction", type=float, default=None, help="default 0.2 (or the config's)")
    run.add_argument("--customers", type=int, help="synthetic: number of customers (default 20000)")
    run.add_argument(
        "--events-per-customer",
        type=int,
        default=0,
        help="synthetic: also generate this many events per customer "
        "(item vectors; the label stays the known-driver one)",
    )
    run.add_argument(
        "--tuning",
        choices=("off", "quick", "full"),
        default="quick",
        help="hyperparameter search on validation rows carved from train: "
        "off, quick (default, small grids) or full (wider)",
    )
    return run


def _neighbours_parser(commands: Commands) -> None:
    neighbours = commands.add_parser(
        "word2vec-neighbours", help="list an item's neighbours in a saved Spark Word2Vec model (no JVM)"
    )
    neighbours.add_argument("path", type=Path, help="folder written by Word2VecModel.save()")
    neighbours.add_argument("item", help="the item (word) to find neighbours of")
    neighbours.add_argument("-k", type=int, default=10, help="how many neighbours (default 10)")


def _init_parser(commands: Commands) -> argparse.ArgumentParser:
    init = commands.add_parser("init-config", help="write a commented starting config from a table's inferred schema")
    init.add_argument("path", type=Path, help="the config file to write")
    init.add_argument("--customers", required=True, help="the customers table (CSV or Parquet path or URI)")
    init.add_argument("--format", choices=("csv", "parquet"), help="default: from the file's extension")
    init.add_argument("--delimiter", default=",")
    init.add_argument("--encoding", default="utf-8", help="CSV text encoding (default utf-8; e.g. latin-1)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    return init


def _score_parser(commands: Commands) -> argparse.ArgumentParser:
    score = commands.add_parser(
        "score", help="score a new table with a published bundle; writes a drift report beside it"
    )
    score.add_argument("--bundle", required=True, help="name of a published bundle")
    score.add_argument("--input", required=True, help="the new customers table (CSV or Parquet path or URI)")
    score.add_argument("--output", type=Path, help="where the scores go (needed unless --snapshot is given)")
    score.add_argument(
        "--snapshot",
        metavar="LABEL",
        help="append the scored and explained rows (every model) to the bundle's history as snapshot LABEL, "
        "e.g. 2026-11 (docs/history.md)",
    )
    score.add_argument("--simulated", action="store_true", help="with --snapshot: mark the data as simulated")
    score.add_argument(
        "--format", choices=("parquet", "csv"), default="parquet", help="output format (default parquet)"
    )
    score.add_argument("--input-format", choices=("csv", "parquet"), help="default: from the input's extension")
    score.add_argument("--model", help="default: the bundle's champion")
    return score


def _export_parsers(commands: Commands) -> None:
    export = commands.add_parser("export-telco-csv", help="write the built-in Telco table as CSV")
    export.add_argument("path", type=Path)
    export_events = commands.add_parser(
        "export-movielens-events", help="write MovieLens ratings.csv and movies.csv into a folder"
    )
    export_events.add_argument("path", type=Path, help="folder for ratings.csv and movies.csv")
    export_events.add_argument("--users", type=int, help="keep only the first N users (smaller files)")


def _missing_bundles(artifacts: Path) -> list[str]:
    """Built-in bundles that are missing, unreadable, or written by an older schema version: a
    migrated built-in bundle opens, but lacks what the current version measures (calibration,
    reason codes, ...), and retraining it costs minutes."""
    from bundle import layout
    from bundle.reader import BundleError, open_bundle

    missing = []
    for name in ENSURED_DATASETS:
        try:
            bundle = open_bundle(artifacts / name)
        except BundleError as exc:
            logging.getLogger("training").info("bundle %s needs training: %s", name, exc)
            missing.append(name)
            continue
        written = json.loads((bundle.path / layout.MANIFEST).read_text(encoding="utf-8"))["schema_version"]
        if written < layout.SCHEMA_VERSION:
            logging.getLogger("training").info(
                "bundle %s needs training: written in schema version %d, current is %d",
                name, written, layout.SCHEMA_VERSION,
            )  # fmt: skip
            missing.append(name)
    return missing


def _word2vec_neighbours(path: Path, item: str, k: int) -> int:
    """Pure NumPy/pyarrow: starts no JVM and imports no pyspark."""
    from store.items import ItemLookupError, neighbours, read_word2vec_dir

    try:
        index = read_word2vec_dir(path)
        found = neighbours(index, item, k)
    except ItemLookupError as exc:
        print(exc, file=sys.stderr)
        return 2
    width = max([len(w) for w, _ in found] + [4])
    print(f"{'item':<{width}}  similarity")
    for word, similarity in found:
        print(f"{word:<{width}}  {similarity:.6f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "word2vec-neighbours":
        return _word2vec_neighbours(args.path, args.item, args.k)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("py4j", "XGBoost-PySpark", "shap"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "export-telco-csv":
        from training.datasets.telco import export_csv

        rows = export_csv(args.path)
        print(f"Wrote {rows} Telco customers to {args.path}")
        return 0
    if args.command == "export-movielens-events":
        from training.datasets.movielens import export_csv as export_events

        ratings, movies = export_events(args.path, args.users)
        print(
            f"Wrote {ratings} ratings to {args.path / 'ratings.csv'} and {movies} movies to {args.path / 'movies.csv'}"
        )
        return 0
    if args.command == "init-config":
        from training.commands import init_config

        return init_config(args)
    if args.command == "score":
        from training.commands import score

        return score(args)
    from training.commands import run_or_ensure

    return run_or_ensure(args, _missing_bundles)


if __name__ == "__main__":
    sys.exit(main())
