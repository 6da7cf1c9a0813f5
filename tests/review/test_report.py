"""`headblock report`: HTML and a real PDF, read back by parsing and rendering."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from headblock.cli import main
from metadata.errors import HeadblockError
from metadata.review.marks import add_mark
from qc.report import write_report
from tests.review.takes import AUDIO_EVENTS

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
    reason="poppler-utils (pdftotext, pdftoppm) not installed",
)


def test_html_report_of_audio_take(audio_take, capsys):
    add_mark(audio_take.directory, AUDIO_EVENTS[1], "false_alarm", "R. Viewer", note="tape splice")
    assert main(["report", str(audio_take.directory)]) == 0
    html = audio_take.qc_html.read_text(encoding="utf-8")
    assert str(audio_take.qc_html) in capsys.readouterr().out
    assert (
        "FAIL" in html
        and "Oral history interview, side A" in html
        and "1/4&quot; open reel" in html
    )
    assert "Signed 24 bit PCM" in html and "48000 Hz" in html
    assert ">verified<" in html  # the md5 sidecar matches the master
    # every event with its time, the false alarm with reviewer and note
    for ev in AUDIO_EVENTS:
        assert f"<td>{ev['start_s']:.3f}</td>" in html
    assert "false alarm (R. Viewer): tape splice" in html
    # self-contained: plots as PNG data URIs, nothing fetched
    pngs = re.findall(r"src='data:image/png;base64,", html)
    assert len(pngs) == 2  # level envelope and loudness
    assert "http://" not in html and "https://" not in html
    assert not audio_take.qc_pdf.exists()


def test_fixity_mismatch_is_reported(audio_take):
    master = audio_take.master("audio")
    data = bytearray(master.read_bytes())
    data[-10] ^= 0xFF
    master.write_bytes(bytes(data))
    write_report(audio_take.directory)
    assert "MISMATCH" in audio_take.qc_html.read_text(encoding="utf-8")


@needs_poppler
def test_pdf_report_renders(video_take, tmp_path):
    assert main(["report", str(video_take.directory), "--pdf"]) == 0
    pdf = video_take.qc_pdf
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "QC report" in text and "VHS-042_t01" in text
    assert "video_dropout" in text and "freeze" in text and "verified" in text
    assert "ffv1 160×120 yuv420p" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "(A4)" in info
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    html = video_take.qc_html.read_text(encoding="utf-8")
    assert html.count("<figure class='thumb'>") == 2  # a frame per video event
    assert html.count("data:image/png;base64,") == 3  # video statistics + two thumbnails


def test_report_needs_a_qc_result(library, capsys):
    take = library / "X" / "X_t01"
    take.mkdir(parents=True)
    assert main(["report", str(take)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no QC result" in err
    assert main(["report", str(library / "nowhere")]) == 2


def test_report_of_a_loose_master(tmp_path, audio_take):
    """A file outside a library: the report goes beside it, named after it."""
    import shutil

    loose = tmp_path / "interview.wav"
    shutil.copy(audio_take.master("audio"), loose)
    qc = audio_take.qc_json.read_text().replace("REEL-001_t01.wav", "interview.wav")
    (tmp_path / "interview.qc.json").write_text(qc)
    assert main(["report", str(loose), "--pdf"]) == 0
    html = (tmp_path / "interview.qc.html").read_text()
    assert "QC report — interview" in html and "Checksum file" in html  # no .md5 beside it
    assert (tmp_path / "interview.qc.pdf").read_bytes().startswith(b"%PDF")


def test_a_checksum_file_not_in_md5sum_format_is_unreadable(audio_take):
    master = audio_take.master("audio")
    master.with_name(master.name + ".md5").write_text("not a checksum\n", encoding="utf-8")
    write_report(audio_take.directory)
    html = audio_take.qc_html.read_text(encoding="utf-8")
    assert f"{master.name}.md5 unreadable" in html and ">verified<" not in html


def test_a_report_the_last_sign_off_hashed_is_kept(audio_take):
    from qc.signoff import signoff

    write_report(audio_take.directory, pdf=True)
    signoff(audio_take.directory, "S. Visor", "approved")
    signed_html = audio_take.qc_html.read_bytes()
    with pytest.raises(HeadblockError, match="signed off"):
        write_report(audio_take.directory, pdf=True)
    assert audio_take.qc_html.read_bytes() == signed_html


@needs_poppler
@pytest.mark.skipif(not shutil.which("mkvpropedit"), reason="needs mkvtoolnix")
def test_report_gives_the_tape_timecode_beside_every_event(video_take):
    from capture.timecode.master import set_video_timecode_tag
    from metadata.formats.checksums import file_md5

    master = video_take.master("video")
    set_video_timecode_tag(master, "10:00:00:00")  # 25 fps: event at 0.8 s is frame 20
    master.with_name(master.name + ".md5").write_text(f"{file_md5(master)}  {master.name}\n")
    assert main(["report", str(video_take.directory), "--pdf"]) == 0
    html = video_take.qc_html.read_text(encoding="utf-8")
    assert "<th>start (s, tape TC)</th>" in html
    assert "<td>0.800 s (TC 10:00:00:20)</td><td>0.840 s (TC 10:00:00:21)</td>" in html
    assert "<td>1.200 s (TC 10:00:01:05)</td>" in html
    assert (
        "10:00:00:00 at 0 s, 25 fps, 10:00:01:24 at the end (from the Matroska TIMECODE tag)"
        in html
    )
    assert "video_dropout at 0.800 s (TC 10:00:00:20)" in html  # the thumbnail's caption
    assert ">verified<" in html
    text = subprocess.run(
        ["pdftotext", "-layout", str(video_take.qc_pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "(TC 10:00:00:20)" in text and "(TC 10:00:01:05)" in text
