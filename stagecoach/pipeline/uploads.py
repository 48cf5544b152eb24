"""Uploads stop at IMPORT_MAX_UPLOAD_MB, before the rest is written to disk.

The handler runs first in Django's chain: it counts what arrives and stops the upload
once the request carries more than the limit, leaving a message on the request for the
page to show. The fields sent before the file (the CSRF token among them) still arrive.
"""

from __future__ import annotations

from typing import IO, Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from stagecoach.pipeline.importers.limits import MB, over

REFUSED = "upload_refused"


def refused(request: HttpRequest) -> str:
    """Why the request's upload was stopped, or ''."""
    return str(getattr(request, REFUSED, ""))


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.IMPORT_MAX_UPLOAD_MB * MB
        self.received = 0

    def _refuse(self, size: str) -> None:
        message = over(
            f"the upload is {size}",
            f"{settings.IMPORT_MAX_UPLOAD_MB:,} MB",
            "IMPORT_MAX_UPLOAD_MB",
        )
        if self.request is not None:
            setattr(self.request, REFUSED, message)
        raise StopUpload(connection_reset=False)

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.declared = content_length

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        declared = getattr(self, "declared", 0) or 0
        if declared > self.limit:
            self._refuse(f"{declared / MB:,.0f} MB")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse(f"more than {self.limit / MB:,.0f} MB")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
