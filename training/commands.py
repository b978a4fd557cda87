"""What each CLI command does (`training/__main__.py` only parses arguments).

Every failure a user can cause (a config mistake, a bad table, a missing key,
a missing bundle) ends here as a message on stderr and exit code 2; nothing is
published and no traceback is shown.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Spark-heavy modules load only when a command runs
    from pyspark.sql import SparkSession

    from bundle.files import Bundle
    from training.datasets.config import Config
    from training.pipeline import RunConfig

log = logging.getLogger("training")


def _fail(headline: str, problems: list[str], code: int = 2) -> int:
    from training.text import one_line

    # One short line per problem, whatever the data put into it (issue 21: a binary file's header).
    print(headline, *(f"  - {one_line(p)}" for p in problems), sep="\n", file=sys.stderr)
    return code


@contextmanager
def _spark(args: argparse.Namespace, app: str, input_rows: int | None = None):
    from pyspark.sql import SparkSession

    from training.spark import get_spark

    # `input_rows` comes from scoring commands only: training keeps the JVM's default compilers, as
    # Word2Vec's and the GBT's loops run long enough for C2 to pay (C1 alone: MovieLens item vectors
    # 26 s → minutes). In-process callers (tests, notebooks) may already hold a session: use it, and
    # leave it running.
    existing = SparkSession.getActiveSession()
    spark = existing or get_spark(app, args.master, input_rows)
    try:
        yield spark
    finally:
        if existing is None:
            spark.stop()


def _user_errors() -> tuple[type[Exception], ...]:
    from bundle.ids import MissingKey
    from bundle.reader import BundleError
    from training.datasets.config import ConfigError
    from training.datasets.infer import TableError
    from training.validate import ValidationError

    return ConfigError, ValidationError, TableError, MissingKey, BundleError


def _report(what: str, exc: Exception) -> int:
    from training.datasets.config import ConfigError

    if isinstance(exc, ConfigError):
        return _fail(f"Config {exc.path} has {len(exc.problems)} mistake(s):", exc.problems)
    # Only a loaded training.validate raises its error; importing it here would import pyspark.
    validate = sys.modules.get("training.validate")
    if validate is not None and isinstance(exc, validate.ValidationError):
        return _fail(f"Input rejected for {what}:", exc.problems)
    return _fail(f"{what} failed:", [str(exc)])


def run_or_ensure(args: argparse.Namespace, missing_bundles: Callable[[Path], list[str]]) -> int:
    from bundle.writer import check_bundle_name
    from training import pipeline
    from training.datasets import builtin
    from training.explain import ParityError

    errors = _user_errors()
    config_file = None
    if args.command == "ensure":
        jobs = [(name, _ensure_config(args.artifacts, name)) for name in missing_bundles(args.artifacts)]
        if not jobs:
            print(f"All built-in bundles in {args.artifacts} are ready.")
            return 0
    else:
        try:
            if args.config is not None:
                from training.datasets.config import load_config

                config_file = load_config(args.config)  # every key checked before Spark starts
                dataset = config_file.name
            else:
                dataset = args.dataset or "telco"
                builtin(dataset)
            check_bundle_name(args.bundle_name or dataset)
        except KeyError as exc:
            print(exc.args[0], file=sys.stderr)
            return 2
        except errors as exc:
            return _report(f"dataset '{args.dataset or args.config}'", exc)
        jobs = [(dataset, _run_config(args, config_file))]

    with _spark(args, "churnlens-training") as spark:
        for dataset, config in jobs:
            try:
                if config_file is not None:
                    from training.datasets.infer import build_spec

                    spec, decisions = build_spec(spark, config_file)
                    for decision in decisions:
                        log.info("column %r: %s", decision.column, decision.type or decision.reason)
                elif dataset == "synthetic":
                    from training.datasets import synthetic

                    spec = synthetic.spec(
                        args.customers or synthetic.DEFAULT_CUSTOMERS, config.seed, args.events_per_customer
                    )
                else:
                    spec = builtin(dataset)
                bundle = pipeline.run(spark, spec, config)
            except errors as exc:
                return _report(f"dataset '{dataset}'", exc)
            except ValueError as exc:  # e.g. a split with one class on a side
                return _fail(f"Training '{dataset}' failed:", [str(exc)], 1)
            except ParityError as exc:  # stored scores would differ from their reference: nothing is published
                return _fail(f"Training '{dataset}' refused to publish:", [str(exc)], 1)
            print(f"Published bundle '{bundle.name}' at {bundle.path}")
            if config.snapshot_label == _DEMO_LABEL:
                _demo_months(spark, bundle)
    return 0


_DEMO_LABEL = "2026-01"


def _ensure_config(artifacts: Path, name: str) -> RunConfig:
    """`make demo`'s Telco bundle starts a history of simulated months (docs/history.md), if it has none yet."""
    from training import pipeline
    from training.snapshot import demo_history_wanted

    if name == "telco" and demo_history_wanted(artifacts, name):
        return pipeline.RunConfig(artifacts=artifacts, snapshot_label=_DEMO_LABEL)
    return pipeline.RunConfig(artifacts=artifacts)


def _demo_months(spark: SparkSession, bundle: Bundle) -> None:
    import time

    from training.snapshot import add_simulated_months

    started = time.perf_counter()
    for line in add_simulated_months(spark, bundle):
        print(line)
    seconds = time.perf_counter() - started
    print(f"Simulated months 2026-02..2026-06 added to the history of '{bundle.name}' in {seconds:.0f} s")


def _run_config(args: argparse.Namespace, config_file: Config | None) -> RunConfig:
    from training import pipeline

    if config_file is None:
        return pipeline.RunConfig(
            artifacts=args.artifacts,
            bundle_name=args.bundle_name,
            sample=args.sample,
            seed=42 if args.seed is None else args.seed,
            test_fraction=0.2 if args.test_fraction is None else args.test_fraction,
            tuning=getattr(args, "tuning", "quick"),
        )
    return pipeline.RunConfig(
        artifacts=args.artifacts,
        bundle_name=args.bundle_name or config_file.name,
        sample=args.sample if args.sample is not None else config_file.sample,
        seed=config_file.seed if args.seed is None else args.seed,
        test_fraction=config_file.test_fraction if args.test_fraction is None else args.test_fraction,
        threshold=config_file.threshold,
        models=config_file.models,
        model_params=config_file.model_params,
        tuning=getattr(args, "tuning", "quick"),
    )


def init_config(args: argparse.Namespace) -> int:
    """A starter config. A local file is sampled with pyarrow (no JVM, no pyspark import); a cluster
    URI is read with Spark. Both decide through `training.datasets.decide`, as the run does."""
    from training.datasets.config_sections import codec_name
    from training.datasets.local_table import TableError, infer_local, is_local
    from training.datasets.starter import MAX_CATEGORIES, starter_source, write_starter_config

    if args.path.exists() and not args.force:
        return _fail(f"Not writing {args.path}:", ["the file exists (use --force to overwrite it)"])
    encoding = codec_name(args.encoding)
    if encoding is None:
        return _fail(
            f"Not writing {args.path}:", [f"--encoding {args.encoding!r}: not an encoding Spark's CSV reader knows"]
        )
    source = starter_source(args.customers, args.format, args.delimiter, encoding)
    sampled = None
    if is_local(source.path):
        try:
            decisions, rows = infer_local(source, set(), MAX_CATEGORIES)
        except TableError as exc:
            return _report(f"table '{args.customers}'", exc)
        from training.datasets.local_table import SAMPLE_ROWS

        sampled = rows if rows >= SAMPLE_ROWS else None
    else:
        errors = _user_errors()
        with _spark(args, "churnlens-init-config") as spark:
            from training.datasets.infer import infer
            from training.datasets.tables import read_table

            try:
                decisions = infer(read_table(spark, source), set(), MAX_CATEGORIES)
            except errors as exc:
                return _report(f"table '{args.customers}'", exc)
    text = write_starter_config(args.path, args.customers, source, decisions, sampled)
    print(text)
    print(
        f"Wrote {args.path}: check the label and the decisions above, then run "
        f"`python -m training run --config {args.path}`",
        file=sys.stderr,
    )
    return 0


def score(args: argparse.Namespace) -> int:
    from bundle.reader import open_bundle
    from training import scoring

    errors = _user_errors()
    if (args.output is None) == (getattr(args, "snapshot", None) is None):
        return _fail("Nothing to do:", ["give either --output (a scored table) or --snapshot LABEL (the history)"])
    try:
        bundle = open_bundle(args.artifacts / args.bundle, name=args.bundle)
        model = scoring.choose_model(bundle, args.model)
    except errors as exc:
        return _report(f"bundle '{args.bundle}'", exc)
    if args.snapshot is not None:
        return _snapshot(args, bundle)
    from training.spark import local_input_rows

    with _spark(args, "churnlens-score", local_input_rows([str(args.input)])) as spark:
        try:
            summary = scoring.score_table(spark, bundle, model, args.input, args.input_format, args.output, args.format)
        except errors + (scoring.ScoringError,) as exc:
            return _report(f"scoring with bundle '{args.bundle}'", exc)
    print(summary)
    return 0


def _snapshot(args: argparse.Namespace, bundle: Bundle) -> int:
    from training import scoring
    from training.explain import ParityError
    from training.snapshot import score_snapshot
    from training.spark import local_input_rows

    errors = _user_errors() + (scoring.ScoringError, ParityError)
    with _spark(args, "churnlens-snapshot", local_input_rows([str(args.input)])) as spark:
        try:
            summary = score_snapshot(spark, bundle, args.input, args.input_format, args.snapshot, args.simulated)
        except errors as exc:
            return _report(f"Snapshot '{args.snapshot}' of bundle '{args.bundle}'", exc)
    print(summary)
    return 0
