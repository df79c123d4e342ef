"""Guards for protected environments: destructive work needs --yes, and a person at a terminal types the name."""

from __future__ import annotations

from collections.abc import Callable

from drizzle_ops.context.config import Environment
from drizzle_ops.errors import UserError


def confirm_protected(
    environment: Environment | None, *, yes: bool, action: str, ask: Callable[[str], str] | None = None
) -> None:
    """Refuse ``action`` on a protected environment unless confirmed.

    ``ask`` is given only when a person is at a terminal; scripts and CI have
    no terminal, so for them --yes alone is the confirmation.
    """
    if environment is None or not environment.protected:
        return
    if not yes:
        raise UserError(f"{environment.name} is a protected environment: {action} needs --yes")
    if ask is not None:
        try:
            typed = ask(f"Type the environment name ({environment.name}) to {action}: ")
        except EOFError:
            typed = ""
        if typed.strip() != environment.name:
            raise UserError(f"confirmation did not match {environment.name!r}; nothing was changed")
