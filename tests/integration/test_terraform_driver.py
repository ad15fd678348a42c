"""The python-terraform driver for real against OpenTofu on a provider-free configuration (the built-in
`terraform_data`: no provider download): init, plan (summary), apply the saved plan, outputs, a plan with no
changes, destroy; and the error paths as one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.terraform import TerraformError, TofuWorkspace

CONFIG = '''variable "name" {
  type = string
}

variable "token" {
  type      = string
  default   = "not-a-real-secret"
  sensitive = true
}

resource "terraform_data" "marker" {
  input = var.name
}

resource "terraform_data" "second" {
  input = "${var.name}-2"
}

output "name" {
  value = terraform_data.marker.output
}

output "token" {
  value     = var.token
  sensitive = true
}
'''


def workspace(tmp_path: Path, text: str = CONFIG, **variables) -> TofuWorkspace:
    folder = tmp_path / "cfg"
    folder.mkdir(exist_ok=True)
    (folder / "main.tf").write_text(text)
    return TofuWorkspace(folder, variables=variables, state_dir=tmp_path / "tofu")


def test_init_plan_apply_output_destroy(tmp_path):
    ws = workspace(tmp_path, name="first")
    ws.init()
    plan = ws.plan()
    assert plan.line() == "2 to add, 0 to change, 0 to destroy, 0 to replace"
    assert "| create | `terraform_data.marker` |" in plan.markdown("plan")
    ws.apply()
    assert ws.outputs() == {"name": ("first", False), "token": ("not-a-real-secret", True)}
    assert ws.plan().empty  # re-planning converges: nothing to do
    ws.tf.variables["name"] = "renamed"
    changed = ws.plan()
    assert [(c.address, c.action) for c in changed.changes] == [("terraform_data.marker", "update"),
                                                                ("terraform_data.second", "update")]
    ws.apply()
    assert ws.outputs()["name"] == ("renamed", False)
    going = ws.plan(destroy=True)
    assert going.count("delete") == 2
    ws.destroy()
    assert ws.outputs() == {}


def test_a_missing_variable_is_one_line_naming_it(tmp_path):
    ws = workspace(tmp_path)
    ws.init()
    with pytest.raises(TerraformError) as err:
        ws.plan()
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith("tofu plan in cfg: main.tf:1: No value for required variable"), line
    assert 'variable "name" is not set' in line


def test_a_syntax_error_is_one_line_with_file_and_line(tmp_path):
    ws = workspace(tmp_path, 'resource "terraform_data" "x" {\n  input = \n}\n')
    with pytest.raises(TerraformError) as err:
        ws.init()
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith("tofu init in cfg: main.tf:2: Invalid expression"), line


def test_apply_without_a_plan_is_refused(tmp_path):
    ws = workspace(tmp_path, name="x")
    ws.init()
    with pytest.raises(TerraformError, match="no saved plan; plan first"):
        ws.apply()
