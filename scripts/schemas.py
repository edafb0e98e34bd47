"""JSON Schema files derived from the pydantic models, for editors and external validators.

They check what one record can check on its own. The rules that span records and files
(unique ids, references, quotes found in sources, seeds) are ours alone: see README.md.
"""

from __future__ import annotations

import json
import typing

from pydantic import BaseModel

from factdb.schema.models import RECORD_MODELS, Assertion, FactFile

ASSERTIONS: list[str] = list(typing.get_args(typing.get_args(Assertion)[0]))


def _document(model: type[BaseModel], name: str) -> str:
    schema = model.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def json_schemas() -> dict[str, str]:
    """File name -> JSON text: the fact file schema, and one per record type."""
    files = {"factfile.schema.json": _document(FactFile, "factfile")}
    for section, model in RECORD_MODELS.items():
        name = section[:-1] if section != "entities" else "entity"
        files[f"{name}.schema.json"] = _document(model, name)
    return files
