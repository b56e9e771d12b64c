"""Chinese is the default UI language, English is complete, and the switcher works."""

from __future__ import annotations

import gettext
from pathlib import Path

import innopoints

LOCALE = Path(innopoints.__file__).parent / "locale"
PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _po_entries() -> dict[str, str]:
    """msgid → msgstr of the Chinese catalogue (multi-line strings joined)."""
    entries, key, current, fuzzy = {}, None, {"msgid": "", "msgstr": ""}, False
    for line in PO.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith(("msgid ", "msgstr ", "msgstr[0] ")):
            key, _, rest = line.partition(" ")
            key = key.removesuffix("[0]")
            current[key] = rest.strip()[1:-1]
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
        elif not line.strip():
            if current["msgid"]:
                entries[current["msgid"]] = "" if fuzzy else current["msgstr"]
            key, current, fuzzy = None, {"msgid": "", "msgstr": ""}, False
    return entries


def test_every_message_has_a_chinese_translation():
    entries = _po_entries()
    assert len(entries) > 100
    untranslated = [m for m, t in entries.items() if not t]
    assert untranslated == []


def test_compiled_catalogue_matches_the_po_file():
    catalogue = gettext.GNUTranslations((PO.with_suffix(".mo")).open("rb"))
    for msgid, msgstr in _po_entries().items():
        if (msgid, 0) in catalogue._catalog:  # a plural entry
            assert catalogue.ngettext(msgid, msgid, 1) == msgstr, msgid
            continue
        assert catalogue.gettext(msgid.replace("\\n", "\n").replace('\\"', '"')) == msgstr.replace(
            "\\n", "\n"
        ).replace('\\"', '"'), msgid


def test_pages_are_chinese_by_default_and_english_on_request(client_for):
    client = client_for("admin")
    page = client.get("/enterprises/").content.decode()
    assert '<html lang="zh-hans">' in page and "企业库" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/enterprises/"})
    page = client.get("/enterprises/").content.decode()
    assert '<html lang="en">' in page and "Enterprises" in page and "企业库" not in page
