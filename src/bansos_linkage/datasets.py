"""Small messy sample exports bundled with the package, for demos and tests.

They are hand-made (no real person's data) and show the phenomena of the
domain notes: titles, old spelling, abbreviated Muhammad/Abdul/Siti, Balinese
birth-order names, placeholder and Excel-damaged NIKs, the KK number typed as
NIK, year-only and impossible dates, missing and duplicate ids.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: sample name -> (file name, schema preset)
SAMPLES: dict[str, tuple[str, str]] = {
    "dtks": ("dtks_sample.csv", "dtks"),
    "regsosek": ("regsosek_sample.csv", "regsosek"),
    "p3ke": ("p3ke_sample.xlsx", "p3ke"),
}


def sample_path(name: str) -> Path:
    """Path of a bundled sample export (``dtks``, ``regsosek`` or ``p3ke``).

    Examples
    --------
    >>> sample_path("dtks").name
    'dtks_sample.csv'
    """
    if name not in SAMPLES:
        raise KeyError(f"unknown sample {name!r}; expected one of {sorted(SAMPLES)}")
    return Path(str(resources.files("bansos_linkage") / "data" / "samples" / SAMPLES[name][0]))


def sample_crosswalk_path() -> Path:
    """Path of the small bundled BPS -> Kemendagri crosswalk used with the Regsosek sample."""
    return Path(
        str(resources.files("bansos_linkage") / "data" / "samples" / "bps_kemendagri_crosswalk.csv")
    )


__all__ = [
    "SAMPLES",
    "sample_crosswalk_path",
    "sample_path",
]
