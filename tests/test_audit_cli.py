"""Changes made on the server's shell are in the audit trail too, as ``cli``, with before/after."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from server.cli import main
from server.config import Settings
from server.services import Services
from sync.audit import ALL


def cli(data: Path, *args: str, stdin: str | None = None):
    env = {"FIELDSYNC_DATA_DIR": None, "FIELDSYNC_ADMIN": None, "FIELDSYNC_STORE": None,
           "FIELDSYNC_SECRET_KEY": None}
    result = CliRunner().invoke(main, [*args, "--data", str(data)], input=stdin, env=env)
    assert result.exit_code == 0, result.output
    return result


def test_user_and_area_commands_are_recorded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli(data, "area", "add", "uvs", "--name", "Uvs aimag")
    csv_file = tmp_path / "soums.csv"
    csv_file.write_text("code,name_en,parent,holds_data\nuvs-tes,Tes soum,uvs,true\n", encoding="utf-8")
    cli(data, "area", "import", str(csv_file))
    cli(data, "user", "add", "dorj", "--role", "worker", "--area", "uvs-tes", "--password-stdin",
        stdin="dorj-password-1\n")
    cli(data, "user", "disable", "dorj")
    cli(data, "user", "passwd", "dorj", "--password-stdin", stdin="dorj-password-2\n")
    db = Services.build(Settings(data_dir=data)).store.open("_audit")
    entries = [r["doc"] for r in db.all_docs(startkey=f"{ALL}:", endkey=f"{ALL}:\uffff", include_docs=True)]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("cli", "area.added"), ("cli", "area.imported"), ("cli", "user.added"), ("cli", "user.changed"),
        ("cli", "user.changed")]
    assert entries[1]["added"] == ["uvs-tes"] and entries[1]["file"] == "soums.csv"
    assert entries[3]["before"] == {"disabled": False} and entries[3]["after"] == {"disabled": True}
    assert entries[4]["password_reset"] is True and "dorj-password" not in repr(entries)
    assert all("address" not in e for e in entries)  # no request, no address
