"""`inv` in this repository: the drizzle-ops tasks, with paths in invoke.yaml relative to this folder.

The tasks themselves live in drizzle_ops.cli.tasks; from any other Drizzle project, run `drizzle-ops`.
"""

from pathlib import Path

from drizzle_ops.cli.tasks import namespace

ns = namespace(project_root=Path(__file__).resolve().parent)
