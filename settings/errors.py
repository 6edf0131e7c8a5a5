"""The one error type settings loading raises: every message names file, key, value and what is allowed."""
from __future__ import annotations

import re
from dataclasses import dataclass

_ONE_LINE = re.compile(r"\s*[\r\n]+\s*")


@dataclass(frozen=True, slots=True)
class SettingsProblem:
    key: str  # dotted key path, e.g. "exchanges[0].markets[2]"
    value: str  # repr of the offending value ("<missing>" when absent)
    allowed: str  # what would be accepted
    option: str | None = None  # the command-line option that set the value, e.g. "--markets"

    def render(self, source: str) -> str:
        # one line per problem, whatever the parts hold (a YAML error text may span lines); a value the
        # user typed on the command line names the option, not the file's key
        if self.option:
            return _ONE_LINE.sub(" ", f"{self.option} = {self.value}: {self.allowed}")
        return _ONE_LINE.sub(" ", f"{source}: {self.key} = {self.value}: {self.allowed}")


class SettingsError(ValueError):
    """Invalid configuration. ``str()`` is the whole user-facing message (one line per problem)."""

    def __init__(self, source: str, problems: list[SettingsProblem]) -> None:
        self.source = source
        self.problems = problems
        # One option value applied to several exchanges fails the same way for each: say it once.
        lines = list(dict.fromkeys(p.render(source) for p in problems))
        if len(lines) == 1:  # one problem, one line
            super().__init__(lines[0] if problems[0].option else f"invalid configuration: {lines[0]}")
            return
        super().__init__(f"invalid configuration in {source} ({len(lines)} problems):\n  " + "\n  ".join(lines))

    @classmethod
    def single(cls, source: str, key: str, value: object, allowed: str) -> SettingsError:
        return cls(source, [SettingsProblem(key, show_value(value), allowed)])


MISSING = object()


def show_value(value: object) -> str:
    if value is MISSING:
        return "<missing>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
