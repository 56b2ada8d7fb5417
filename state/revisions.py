"""The migration scripts' head revision, read from their text (no alembic, no sqlalchemy)."""

import re
from functools import cache
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
REVISION = re.compile(r"^revision = ['\"]([^'\"]+)['\"]", re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision = ['\"]([^'\"]+)['\"]", re.MULTILINE)


@cache
def head_revision() -> str:
    """The newest migration's revision, read from the scripts without importing alembic."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revisions.update(REVISION.findall(source))
        parents.update(DOWN_REVISION.findall(source))
    (head,) = revisions - parents
    return head
