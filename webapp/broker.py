"""The embedded broker: kombu's filesystem transport, riding out a missing queue folder.

kombu's own channel lets the `FileNotFoundError` from listing a missing queue folder escape,
and Celery treats it as unrecoverable: every worker reading that folder exits (after its
running task), and stays down until something restarts it. A folder that is briefly gone
(an unmounted or remounted volume, a restore) is a broker outage like a Redis restart, so
here it reads as "no messages yet": the worker keeps polling and consumes again once the
folder is back. Publishing while the folder is missing still fails loudly (a `ChannelError`
from kombu), so a submission is never silently dropped and /healthz reports the broker down.

A message is written under a name no reader takes and then renamed into place: kombu's own
`_put` creates the file before it writes it, and a worker polling in between moves the empty
file away, fails to parse it and exits ("Unrecoverable error: JSONDecodeError"), and the
message is lost with it.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from contextlib import suppress
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)
WARN_EVERY = 30.0  # seconds between repeated warnings while the folder stays missing


class Channel(filesystem.Channel):
    _missing_since: float | None = None
    _warned_at: float = 0.0

    def _get(self, queue: str) -> Any:
        try:
            message = super()._get(queue)
        except FileNotFoundError:
            self._folder_missing()
            raise Empty() from None
        except Empty:
            self._folder_back()
            raise
        self._folder_back()
        return message

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        """Write to `<name>.part` (readers take only names ending in `<queue>.msg`), then rename."""
        name = f"{int(round(time.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)  # atomic: a reader sees the whole message or none
        except OSError as exc:
            with suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _size(self, queue: str) -> int:
        try:
            return super()._size(queue)
        except FileNotFoundError:
            self._folder_missing()
            return 0

    def _folder_missing(self) -> None:
        now = time.monotonic()
        if self._missing_since is None:
            self._missing_since = now
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("broker folder %s is missing; waiting for it to come back", self.data_folder_in)

    def _folder_back(self) -> None:
        if self._missing_since is not None:
            log.warning("broker folder %s is back after %.1fs", self.data_folder_in,
                        time.monotonic() - self._missing_since)  # fmt: skip
            self._missing_since, self._warned_at = None, 0.0


class Transport(filesystem.Transport):
    Channel = Channel
