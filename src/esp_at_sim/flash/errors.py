"""The exceptions of the flash package, rooted in :class:`FlashError`.

Each error mixes in the standard exception it resembles, so callers that only know the
standard library can still catch it::

    FlashError(Exception)                  anything the flash package refuses
    ├── ImageError(FlashError, ValueError)           an app image is damaged or wrong
    ├── PartitionTableError(FlashError, ValueError)  a bad CSV or a damaged binary table
    ├── NvsError(FlashError, ValueError)             NVS content damaged or too large
    ├── FlashFileError(FlashError, ValueError)       a file that is not our flash image
    ├── FlashAccessError(FlashError, ValueError)     a raw access outside its partition
    ├── DumpError(FlashError, ValueError)            not a dump of a supported module
    ├── BootError(FlashError, RuntimeError)          nothing in flash can boot
    └── OtaError(FlashError, RuntimeError)           an update or rollback that cannot go on

The message of every error is one plain sentence meant for a person (it ends up in a log
line, an ``ERR CODE`` explanation or an HTTP body); :attr:`FlashError.reason` holds it.
:attr:`FlashError.kind` sorts it for a program (a web page that words it in its own
language): one of :data:`KINDS`.
"""

from __future__ import annotations

# What went wrong, for a program: an image that is not one, cut short, built for another
# chip, too large for its partition, or damaged (checksum, SHA-256, segments); an update
# with no data, into no usable partition, or over firmware that has not confirmed itself;
# anything else.
KINDS = (
    "not_an_image", "truncated", "wrong_chip", "too_large", "corrupt",
    "empty", "no_partition", "not_confirmed", "failed",
)  # fmt: skip


class FlashError(Exception):
    """Base of every error raised by :mod:`esp_at_sim.flash`."""

    default_kind = "failed"

    def __init__(self, *args: object, kind: str | None = None) -> None:
        super().__init__(*args)
        self.kind = kind or self.default_kind

    @property
    def reason(self) -> str:
        """The human-readable reason given when the error was raised."""
        return str(self.args[0]) if self.args else type(self).__name__


class ImageError(FlashError, ValueError):
    """An app image failed to parse or verify (bad magic, checksum, hash, chip, ...)."""

    default_kind = "corrupt"


class PartitionTableError(FlashError, ValueError):
    """A partition CSV could not be parsed, or a binary table is damaged or inconsistent."""


class NvsError(FlashError, ValueError):
    """NVS content is damaged, or new content does not fit the partition."""


class FlashFileError(FlashError, ValueError):
    """A flash file is not a flash image of the expected layout (it is never overwritten)."""


class FlashAccessError(FlashError, ValueError):
    """A raw read, write or erase names an unknown partition or leaves its bounds."""


class BootError(FlashError, RuntimeError):
    """No app partition holds an image that verifies: the module cannot start."""


class OtaError(FlashError, RuntimeError):
    """An OTA update or a rollback cannot proceed (state conflict, data past the end...)."""
