"""`innopoints policies import|export|match` on the test zone."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from innopoints.cli import app
from innopoints.policies.catalogue import write_yaml
from tests.policies.helpers import entry

pytestmark = pytest.mark.django_db
runner = CliRunner()


def test_import_match_export(zone, firms, tmp_path):
    from innopoints.policies.models import PolicyMatch

    bad = tmp_path / "bad.yaml"
    bad.write_text(write_yaml([entry(budget=-1)]), encoding="utf-8")
    result = runner.invoke(app, ["policies", "import", str(bad), "--zone", "Z1"])
    assert result.exit_code == 1 and "预算" in result.output and "Budget" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(write_yaml([entry()]), encoding="utf-8")
    result = runner.invoke(app, ["policies", "import", str(good), "--zone", "Z1", "--publish"])
    assert result.exit_code == 0, result.output
    assert PolicyMatch.objects.filter(status="eligible").count() == 2
    result = runner.invoke(app, ["policies", "match", "--zone", "Z1"])
    assert result.exit_code == 0 and "0 new matches" in result.output
    out = tmp_path / "out.xlsx"
    assert runner.invoke(app, ["policies", "export", str(out), "--zone", "Z1"]).exit_code == 0
    assert out.read_bytes().startswith(b"PK")
    assert runner.invoke(app, ["policies", "match", "--zone", "NOPE"]).exit_code == 2
