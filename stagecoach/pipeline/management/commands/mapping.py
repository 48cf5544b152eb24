from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stagecoach.pipeline.importers.mapped import Mapping
from stagecoach.pipeline.mappings import get_mapping, save_mapping
from stagecoach.pipeline.models import MappingProfile


def load_profile(*, name: str | None, file: Path | None) -> Mapping | None:
    """The profile given on the command line, by name or as a JSON file."""
    if name and file:
        raise CommandError("give --profile or --profile-file, not both")
    if file is not None:
        return read_profile_file(file)
    if name:
        try:
            return get_mapping(name)
        except LookupError as error:
            raise CommandError(str(error)) from None
    return None


def read_profile_file(path: Path) -> Mapping:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise CommandError(f"{path}: no such profile file") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{path}: not JSON: {error}") from None
    try:
        return Mapping.from_dict(data)
    except ValueError as error:
        raise CommandError(f"{path}: {error}") from None


class Command(BaseCommand):
    help = "Column mapping profiles for `import mapped`: list, show (as JSON), save, delete."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["list", "show", "save", "delete"])
        parser.add_argument(
            "target", nargs="?", help="show/delete: a profile name; save: a JSON file."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action, target = options["action"], options["target"]
        if action == "list":
            for profile in MappingProfile.objects.all():
                self.stdout.write(f"{profile.name}\t{profile.updated_at:%Y-%m-%d %H:%M}")
            return
        if not target:
            raise CommandError(f"mapping {action} needs a {'file' if action == 'save' else 'name'}")
        if action == "save":
            mapping = read_profile_file(Path(target))
            save_mapping(mapping=mapping, user=None)
            self.stdout.write(f"Saved mapping profile {mapping.name!r}.")
        elif action == "show":
            try:
                mapping = get_mapping(target)
            except LookupError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(json.dumps(mapping.to_dict(), indent=2, ensure_ascii=False))
        else:
            deleted, _ = MappingProfile.objects.filter(name=target).delete()
            if not deleted:
                raise CommandError(f"no mapping profile {target!r}")
            self.stdout.write(f"Deleted mapping profile {target!r}.")
