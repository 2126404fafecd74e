"""``fieldsync area add|list|import``."""

from __future__ import annotations

from pathlib import Path

import click

from sync import area_changes

from .context import data_option, services_for


@click.group()
def area() -> None:
    """The administrative tree: aimag > soum > bag, city > district > khoroo."""


@area.command()
@click.argument("code")
@click.option("--name", "name_en", required=True, help="English name.")
@click.option("--name-mn", default=None, help="Mongolian name.")
@click.option("--parent", default=None, help="Parent area code.")
@click.option("--level", default=None, help="aimag, soum, bag, city, district or khoroo.")
@click.option("--holds-data", is_flag=True, help="This area is a scope of its own (soum, khoroo).")
@data_option
def add(code: str, name_en: str, name_mn: str | None, parent: str | None, level: str | None,
        holds_data: bool, data: str | None) -> None:
    """Add an area."""
    svc = services_for(data)
    a = area_changes.add_area(svc.areas, svc.audit, by="cli", code=code, name_en=name_en, name_mn=name_mn,
                              parent=parent, level=level, holds_data=holds_data)
    click.echo(f"added {a.code}" + (" (holds data)" if a.holds_data else ""))


@area.command(name="list")
@data_option
def list_areas(data: str | None) -> None:
    """Show the tree."""
    tree = services_for(data).areas.tree()
    if not tree.areas:
        click.echo("No areas yet. Add one with: fieldsync area add CODE --name NAME")

    def show(code: str, depth: int) -> None:
        a = tree.areas[code]
        mark = " [data]" if a.holds_data else ""
        click.echo(f"{'  ' * depth}{code}  {a.name.get('en', '')} / {a.name.get('mn', '')}{mark}")
        for child in tree.children.get(code, []):
            show(child, depth + 1)

    for root in tree.roots():
        show(root, 0)


@area.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@data_option
def import_areas(file: str, data: str | None) -> None:
    """Add or update areas from a CSV: code,name_en,name_mn,parent,level,holds_data."""
    svc = services_for(data)
    count = area_changes.import_areas(svc.areas, svc.audit, by="cli", text=Path(file).read_text(encoding="utf-8-sig"),
                                      filename=Path(file).name)
    click.echo(f"imported {count} areas")


COMMANDS = [area]
