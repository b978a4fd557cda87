"""Tiny own-data files (a customers CSV and its TOML config) for the bad-file cases of
tests/test_bad_input.py: each case writes bytes under a fixed header and trains or reads them."""

from __future__ import annotations

from pathlib import Path

HEADER = "id,city,spend,churned"


def own_files(tmp_path: Path, body: bytes, csv_section: str = "") -> Path:
    """A customers CSV (`body` under the header) and the config that trains it."""
    (tmp_path / "own.csv").write_bytes(HEADER.encode() + b"\n" + body)
    config = tmp_path / "own.toml"
    config.write_text(
        'name = "own"\n[customers]\npath = "own.csv"\nid = "id"\nlabel = "churned"\npositive = "1"\n'
        f'{csv_section}[models]\nuse = ["logistic"]\n'
    )
    return config


def rows_text(cities: list[str], n: int = 40) -> str:
    return "\n".join(f"{i},{cities[i % len(cities)]},{i},{i % 2}" for i in range(1, n + 1)) + "\n"


def typed_cities(spark, config_path: Path) -> set[str]:
    from training.datasets.config import load_config
    from training.datasets.infer import build_spec, read_table
    from training.validate import validate

    config = load_config(config_path)
    assert config.customers is not None
    spec, _ = build_spec(spark, config)
    typed = validate(read_table(spark, config.customers), spec)
    return {row[0] for row in typed.select("city").distinct().collect()}
