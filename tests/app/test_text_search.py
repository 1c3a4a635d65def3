"""app.text_search: query parsing, word matching, and the Library's text API (setting, photo text)."""
from __future__ import annotations

import json
import os

import pytest

from app.library import SearchFilters
from app.text_search import TextQuery, _match_lines, _word_pattern
from indexer.ocr import TextLine
from tests.media import draw_text, font_path, photo_background, save_jpeg, scene

BOX = ((0.1, 0.1), (0.5, 0.1), (0.5, 0.2), (0.1, 0.2))


def test_query_words_quoted_phrases_and_filler():
    q = TextQuery.parse('a photo of the "Gate B42" boarding pass at 咖啡店 x')
    assert q.required == ("gate b42",)
    assert q.words == ("gate b42", "boarding", "pass", "咖啡店")
    assert not TextQuery.parse("a photo of the x")
    assert TextQuery.parse("“wifi password”").required == ("wifi password",)


def _hit(query: str, *texts: str):
    q = TextQuery.parse(query)
    return _match_lines([TextLine(t, 0.99, BOX) for t in texts], q, {w: _word_pattern(w) for w in q.words})


def test_words_match_at_word_starts_and_long_or_cjk_words_anywhere():
    assert _hit("gate", "GATE B42").coverage == 1.0
    assert _hit("gate", "navigate here") is None  # not inside another word
    assert _hit("gates", "Departure gates") is not None
    assert _hit("receipt", "CASHRECEIPT 42") is not None  # OCR ran the words together
    assert _hit("咖啡", "北京咖啡店").coverage == 1.0
    hit = _hit("hardware store receipt", "Hardware Store", "Total 42.00")
    assert hit.coverage == pytest.approx(2 / 3) and hit.snippet == "Hardware Store" and hit.boxes == (BOX,)
    assert _hit('"wifi password"', "WIFI", "password") is not None  # a phrase across lines
    assert not _hit('"B42" gate', "GATE B43").has_required


def test_a_single_digit_is_a_word_that_must_stand_alone():
    assert TextQuery.parse("platform 7").words == ("platform", "7")
    assert _hit("platform 7", "PLATFORM 7").coverage == 1.0
    assert _hit("platform 7", "PLATFORM 8").coverage == 0.5
    assert _hit("platform 7", "PLATFORM 72").coverage == 0.5  # not the 7 of 72


@pytest.mark.skipif(font_path("DejaVuSans-Bold.ttf") is None, reason="fonts-dejavu-core is not installed")
def test_library_setting_photo_text_and_stale_text(library, tmp_path):
    folder = tmp_path / "photos"
    sign = save_jpeg(folder / "sign.jpg", draw_text(photo_background((640, 480), 0), "EXIT 12", height=0.12,
                                                     at=(0.3, 0.4)))
    save_jpeg(folder / "plain.jpg", scene("checker", (640, 480)))

    assert library.read_text is True
    library.read_text = False
    assert json.loads(library.paths.config.read_text())["read_text"] is False
    report = library.index([folder])
    assert report.embedded == 2 and report.text_read == 0
    assert library.status().text_pending == 2

    library.read_text = True
    events = []
    report = library.index(on_progress=events.append)
    assert report.text_read == 2
    text_events = [e for e in events if e.phase == "text"]
    assert text_events[0].done == 0 and text_events[-1].done == text_events[-1].total == 2
    assert events[-1].phase == "done"

    results = library.search("exit", SearchFilters(limit=5))
    assert results[0].path == str(sign) and "EXIT" in results[0].text
    assert results[0].text_boxes and all(0 <= v <= 1 for corner in results[0].text_boxes[0] for v in corner)
    text = library.photo_text(results[0].media_id)
    assert text.text == "EXIT 12" and text.lines[0].box == results[0].text_boxes[0]
    st = library.status()
    assert (st.text_read, st.text_found, st.text_pending) == (2, 1, 0)

    # a changed file's old text stops matching before it is read again
    save_jpeg(sign, scene("red", (640, 480)))
    os.utime(sign, ns=(sign.stat().st_atime_ns, sign.stat().st_mtime_ns + 10_000_000_000))
    library.index(read_text=False)
    assert all(r.text is None for r in library.search("exit"))
    assert library.photo_text(results[0].media_id) is None

    # deleting the file deletes its text
    sign.unlink()
    library.index()
    with library.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM media_text").scalar_one() == 1


def test_progress_bar_shows_the_text_phase():
    import io

    from app.cli import ProgressBar
    from indexer.events import IndexProgress

    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = TTY()
    ProgressBar(out)(IndexProgress("text", 3, 12, failed=1, rate=4.0, current="/p/receipt.jpg"))
    text = out.getvalue()
    assert "reading text" in text and "3/12" in text and "4.0/s" in text and "receipt.jpg" in text
    assert "1 failed" in text
