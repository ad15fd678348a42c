"""What a terraform plan would do, from `tofu show -json <plan>` (pure): counts, a markdown table, and the
refusal to destroy a database in a protected environment.

The JSON is OpenTofu's/Terraform's machine-readable plan (`format_version` 1.x): `resource_changes[]` with
`address`, `type` and `change.actions` — one of ["no-op"], ["create"], ["read"], ["update"], ["delete"],
["delete", "create"] / ["create", "delete"] (a replacement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import ConfigError

#: resource types that hold the business data: destroying one loses it
DATABASE_TYPES = frozenset({"aws_rds_cluster", "aws_rds_cluster_instance", "aws_db_instance"})
PROTECTED_ENVIRONMENTS = frozenset({"prod"})


@dataclass(frozen=True)
class PlannedChange:
    address: str
    type: str
    action: str  # create | update | delete | replace | read


@dataclass(frozen=True)
class PlanSummary:
    changes: tuple[PlannedChange, ...] = field(default_factory=tuple)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def empty(self) -> bool:
        return not any(c.action != "read" for c in self.changes)

    def line(self) -> str:
        return (f"{self.count('create')} to add, {self.count('update')} to change, {self.count('delete')} to destroy, "
                f"{self.count('replace')} to replace")

    def destroyed(self) -> list[PlannedChange]:
        """What the plan deletes, replacements included (a replacement destroys the old object)."""
        return [c for c in self.changes if c.action in ("delete", "replace")]

    def markdown(self, title: str) -> str:
        lines = [f"# {title}", "", f"**{self.line()}**", ""]
        if self.empty:
            return "\n".join(lines + ["No changes."])
        lines += ["| action | resource |", "|---|---|"]
        order = {"delete": 0, "replace": 1, "create": 2, "update": 3, "read": 4}
        for c in sorted(self.changes, key=lambda c: (order.get(c.action, 9), c.address)):
            lines.append(f"| {c.action} | `{c.address}` |")
        return "\n".join(lines)


def _action(actions: list[str]) -> str | None:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    if len(actions) == 1 and actions[0] in ("create", "update", "delete", "read"):
        return actions[0]
    return None  # no-op


def summarize(plan_json: dict) -> PlanSummary:
    """The changes in `tofu show -json` output; a document that is not a plan is a one-line error."""
    if not isinstance(plan_json, dict) or "format_version" not in plan_json:
        raise ConfigError("not a terraform plan in JSON (no format_version): expected `tofu show -json <planfile>`")
    changes = []
    for rc in plan_json.get("resource_changes") or []:
        action = _action(list(rc.get("change", {}).get("actions", [])))
        if action:
            changes.append(PlannedChange(rc["address"], rc.get("type", ""), action))
    return PlanSummary(tuple(changes))


def refuse_database_destroy(summary: PlanSummary, environment: str, allow: bool = False) -> None:
    """A plan that destroys (or replaces) the database of a protected environment is refused unless allowed."""
    lost = [c.address for c in summary.destroyed() if c.type in DATABASE_TYPES]
    if lost and environment in PROTECTED_ENVIRONMENTS and not allow:
        raise ConfigError(f"the plan for {environment} destroys the database ({', '.join(lost)}); refused",
                          fix="change the configuration so it does not, or pass allow_database_destroy=true "
                              "knowing its data is lost")


def apply_verdict(summary: PlanSummary, environment: str, approved: bool, allow_database_destroy: bool = False) -> str:
    """What provision does with a plan: "no changes", "apply" (approved) or "awaiting approval" (published, not
    applied). A refused database destroy raises first, approved or not."""
    refuse_database_destroy(summary, environment, allow_database_destroy)
    if summary.empty:
        return "no changes"
    return "apply" if approved else "awaiting approval"


def cleared_settings(outputs: dict[str, tuple[object, bool]], declared: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The settings whose `cdc_*` output is null now (e.g. a module turned off): their stored value must go.

    `tofu output -json` leaves a null output out, so `declared` (the configuration's output names) says which
    ones exist; an output present with a null value counts too."""
    null = {n for n, (value, _) in outputs.items() if value is None} | (set(declared) - set(outputs))
    return sorted(n.upper() for n in null if n.startswith("cdc_"))


def settings_from_outputs(outputs: dict[str, tuple[object, bool]]) -> list[tuple[str, str, bool]]:
    """terraform outputs named `cdc_<name>` as the settings the flows read: (`CDC_<NAME>`, value, secret?).

    Lists and maps are JSON; None (e.g. a disabled module's endpoint) is left out, so the setting stays unset."""
    import json

    found = []
    for name, (value, sensitive) in sorted(outputs.items()):
        if not name.startswith("cdc_") or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        found.append((name.upper(), text, sensitive))
    return found
