"""Write `schemas/openapi.json` and `schemas/invoice-input.schema.json` from the code.

python scripts/write_schemas.py
"""

from __future__ import annotations

from pathlib import Path

from faktura.api.app import create_app
from faktura.api.schema import schema_files
from faktura.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    app = create_app(Settings(database_url="postgresql://unused@localhost/unused"))
    for name, text in schema_files(app).items():
        (ROOT / "schemas" / name).write_text(text, encoding="utf-8")
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
