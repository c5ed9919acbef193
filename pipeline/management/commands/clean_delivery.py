"""``manage.py clean_delivery``: enforce delivery retention now (workers also do it every
few minutes) and print what was deleted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from pipeline.services import delivery_housekeep


class Command(BaseCommand):
    help = (
        "Delete delivery attempts, jobs, events and messageIds past their retention "
        "(DELIVERY_RETAIN_* settings), and judge failing instances again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(delivery_housekeep(now=timezone.now())))
