"""The `fieldsync` command line as a person meets it: help, version, errors, configuration.

Commands run in-process through click's CliRunner against real data
directories (SQLite files in tmp_path); one test runs the installed console
script to cover the entry point itself. What each command does to forms,
users, areas and the quarantine is tested beside those features; here it is
the shape every command shares:

* `--help` works everywhere and `--version` names the installed package;
* an error is one line on stderr starting with "Error:" and a non-zero exit,
  never a traceback;
* flags override the `FIELDSYNC_*` environment.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from server.cli import main
from sync.accounts.users import UserDirectory
from sync.errors import StoreUnavailable

FIELDSYNC_VARS = (
    "FIELDSYNC_DATA_DIR", "FIELDSYNC_STORE", "FIELDSYNC_COUCHDB_URL", "FIELDSYNC_SECRET_KEY",
    "FIELDSYNC_ADMIN", "FIELDSYNC_MAX_BODY_BYTES", "FIELDSYNC_MAX_FEED_SECONDS",
)

# Every command the console script offers, as `fieldsync <path> --help` reaches it.
COMMANDS = [
    "serve", "init", "demo", "sync-status", "export", "migrate",
    "form", "form validate", "form publish", "form list", "form retire",
    "area", "area add", "area list", "area import",
    "user", "user add", "user passwd", "user disable", "user enable", "user assign", "user list",
    "quarantine", "quarantine list", "quarantine show", "quarantine release", "quarantine discard",
    "conflicts", "conflicts list", "conflicts show", "conflicts resolve", "conflicts scan",
    "review", "review list", "review show", "review set",
    "rekey",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FIELDSYNC_* settings leak in from the shell, nor out of a test.

    Commands write a `--data` flag into FIELDSYNC_DATA_DIR (that is how flags
    override the environment for the server too); setting the variable here
    first makes pytest restore it after each test.
    """
    for name in FIELDSYNC_VARS:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("FIELDSYNC_DATA_DIR", str(tmp_path / "data-from-environment"))
    monkeypatch.chdir(tmp_path)


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin, prog_name="fieldsync")


def one_error_line(result: Result) -> str:
    """The single `Error: ...` line a failing command prints, after checking that it is one."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


# -- help and version -------------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: fieldsync [OPTIONS] COMMAND [ARGS]...")
    top_level = sorted({path.split()[0] for path in COMMANDS})
    assert sorted(main.commands) == top_level
    for name in top_level:
        assert f"\n  {name} " in result.stdout


def test_running_without_a_command_shows_the_usage() -> None:
    result = run()
    assert result.exit_code != 0
    assert "Usage: fieldsync" in result.output
    assert "Commands:" in result.output


def test_version_is_the_installed_package_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"fieldsync, version {version('fieldsync')}\n"


def all_commands(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    """Every command and group by its path: {"form publish": <Command publish>, ...}."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found.update(all_commands(command, f"{prefix}{name} "))
    return found


def test_the_list_of_commands_here_is_complete() -> None:
    assert sorted(all_commands()) == sorted(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_has_help(path: str) -> None:
    result = run(*path.split(), "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: fieldsync {path} ")
    summary = result.stdout.split("\n\n")[1].strip()
    assert summary, f"`fieldsync {path}` has no description"
    if "--data" in result.stdout:
        assert "overrides FIELDSYNC_DATA_DIR" in " ".join(result.stdout.split())


def test_every_option_is_explained() -> None:
    unexplained = [f"fieldsync {path} {param.opts[0]}" for path, command in all_commands().items()
                   for param in command.params if isinstance(param, click.Option) and not param.help]
    assert unexplained == []


def test_serve_help_shows_the_documented_defaults() -> None:
    text = " ".join(run("serve", "--help").stdout.split())
    assert "--host TEXT Address to bind. [default: 127.0.0.1]" in text
    assert "--port INTEGER Port to bind. [default: 5985]" in text


# -- errors: one line, non-zero, no traceback ------------------------------------------


def test_an_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Error: No such command 'frobnicate'." in result.stderr


def test_an_unknown_option_is_a_usage_error() -> None:
    result = run("form", "list", "--colour")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "No such option" in result.stderr and "--colour" in result.stderr


@pytest.mark.parametrize("admin", ["admin", "admin:", ":secret"])
def test_a_malformed_fieldsync_admin_is_named(admin: str) -> None:
    result = run("form", "list", env={"FIELDSYNC_ADMIN": admin})
    assert one_error_line(result) == "Error: FIELDSYNC_ADMIN must be name:password"


def test_a_data_directory_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a directory")
    result = run("form", "list", "--data", "notes.txt")
    assert one_error_line(result) == "Error: data directory notes.txt is not a directory"


def test_a_data_directory_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a directory")
    result = run("area", "list", "--data", "notes.txt/data")
    assert one_error_line(result) == "Error: notes.txt/data: Not a directory"


def test_a_damaged_store_file_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "global.sqlite").write_bytes(b"this is not an SQLite database, it is a note" * 20)
    result = run("form", "list", "--data", str(data))
    assert one_error_line(result) == f"Error: the SQLite store in {data} failed: file is not a database"


def test_an_unknown_store_is_named() -> None:
    result = run("form", "list", env={"FIELDSYNC_STORE": "mongodb"})
    assert one_error_line(result) == "Error: unknown store 'mongodb' (FIELDSYNC_STORE is sqlite or couchdb)"


def test_a_couch_error_inside_a_command_is_its_reason() -> None:
    """Errors of the sync engine carry a reason a person can act on; that is the line shown."""
    result = run("user", "disable", "nobody")
    assert one_error_line(result) == "Error: no user 'nobody'"


def test_an_unavailable_store_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store failing mid-command (CouchDB down) is reported, not dumped as a traceback."""

    def unreachable(self: UserDirectory):
        raise StoreUnavailable("CouchDB at http://couch.example:5984 did not answer; try again later")

    monkeypatch.setattr(UserDirectory, "list", unreachable)
    result = run("user", "list")
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "Error: CouchDB at http://couch.example:5984 did not answer; try again later"
    )


def test_a_missing_file_argument_is_a_usage_error() -> None:
    result = run("form", "validate", "no-such-form.json")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "'no-such-form.json' does not exist" in result.stderr


def test_the_installed_script_reports_errors_in_one_line(tmp_path: Path) -> None:
    """The console script itself (not just the click group) exits 1 with one line."""
    (tmp_path / "notes.txt").write_text("not a directory")
    fieldsync = Path(sys.executable).parent / "fieldsync"
    proc = subprocess.run([str(fieldsync), "user", "list", "--data", "notes.txt"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == "Error: data directory notes.txt is not a directory\n"


# -- configuration: flags override the environment ----------------------------------------


def test_data_flag_overrides_fieldsync_data_dir(tmp_path: Path) -> None:
    from_env, from_flag = tmp_path / "from-env", tmp_path / "from-flag"
    env = {"FIELDSYNC_DATA_DIR": str(from_env)}

    added = run("area", "add", "uvs", "--name", "Uvs aimag", "--data", str(from_flag), env=env)
    assert added.exit_code == 0, added.output
    assert added.stdout == "added uvs\n"

    assert "uvs  Uvs aimag" in run("area", "list", "--data", str(from_flag), env=env).stdout
    assert run("area", "list", env=env).stdout.startswith("No areas yet.")


def test_fieldsync_data_dir_is_used_without_a_flag(tmp_path: Path) -> None:
    env = {"FIELDSYNC_DATA_DIR": str(tmp_path / "elsewhere")}
    assert run("area", "add", "ovr", "--name", "Övörkhangai aimag", env=env).exit_code == 0
    assert (tmp_path / "elsewhere" / "global.sqlite").exists()
    assert not (tmp_path / "data").exists()


def test_the_default_data_directory_is_data_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FIELDSYNC_DATA_DIR")
    assert run("area", "add", "ovr", "--name", "Övörkhangai aimag").exit_code == 0
    assert (tmp_path / "data" / "global.sqlite").exists()


def test_fieldsync_admin_creates_the_first_admin_when_the_server_starts(tmp_path: Path) -> None:
    """FIELDSYNC_ADMIN is read by the app factory; `user list` shows who it made."""
    from server import create_app
    from server.config import Settings

    data = tmp_path / "data"
    create_app(Settings.from_env({"FIELDSYNC_DATA_DIR": str(data), "FIELDSYNC_ADMIN": "nomin:long-enough-pw"}))
    listed = run("user", "list", "--data", str(data))
    assert listed.exit_code == 0
    assert listed.stdout.split() == ["nomin", "admin", "active"]


# -- docs/cli.md stays true ----------------------------------------------------------------

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_docs_cover_every_command() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    missing = [path for path in COMMANDS if f"fieldsync {path}" not in text]
    assert missing == []


def test_help_quoted_in_the_docs_is_the_real_help() -> None:
    """Each `Usage: fieldsync ...` block in docs/cli.md is that command's --help, verbatim."""
    blocks = re.findall(r"```\n(Usage: fieldsync .*?)```", CLI_DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    for block in blocks:
        path = re.match(r"Usage: fieldsync ([a-z -]*?) ?\[OPTIONS\]", block).group(1).split()
        # What an 80-column terminal shows (click leaves two columns free).
        in_80_columns = CliRunner().invoke(main, [*path, "--help"], prog_name="fieldsync",
                                           terminal_width=78).stdout
        assert in_80_columns.strip() == block.strip(), f"docs/cli.md: fieldsync {' '.join(path)}"
