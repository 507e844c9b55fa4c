"""Where the embedded stack lives and which ports it uses, from the environment."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_PG_PORT = 54329
DEFAULT_KAFKA_PORT = 19092


@dataclass
class StackConfig:
    data_dir: Path
    pg_port: int
    kafka_port: int

    @property
    def state_file(self) -> Path:
        return self.data_dir / "stack.json"

    def save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({**asdict(self), "data_dir": str(self.data_dir)}))


def data_dir() -> Path:
    return Path(os.environ.get("STOCKROOM_DATA_DIR", ".stockroom")).absolute()


def load() -> StackConfig:
    directory = data_dir()
    state = directory / "stack.json"
    saved = json.loads(state.read_text()) if state.exists() else {}
    return StackConfig(
        data_dir=directory,
        pg_port=int(os.environ.get("STOCKROOM_PG_PORT", saved.get("pg_port", DEFAULT_PG_PORT))),
        kafka_port=int(
            os.environ.get("STOCKROOM_KAFKA_PORT", saved.get("kafka_port", DEFAULT_KAFKA_PORT))
        ),
    )


def external_database() -> str | None:
    return os.environ.get("DATABASE_URL") or None


def external_kafka() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None
