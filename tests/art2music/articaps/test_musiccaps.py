"""MusicCaps reader: the released CSV format, file-name patterns, malformed rows and missing clips."""

from __future__ import annotations

import pytest

from art2music.articaps.musiccaps import check_audio_pattern, read_musiccaps

HEADER = ("ytid,start_s,end_s,audioset_positive_labels,aspect_list,caption,author_id,is_balanced_subset,"
          "is_audioset_eval\n")


def _row(ytid, start, end, caption):
    return f'{ytid},{start},{end},"/m/0342h,/m/04rlf","[\'guitar\', \'calm\']","{caption}",4,False,True\n'


def test_reads_rows_with_a_pattern_and_reports_problems(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("-0Gj8-vB1q4_30-40.flac", "abcdefghijk_0-10.flac", "dupdupdup00_5-15.flac"):
        (audio / name).write_bytes(b"x")
    body = (_row("-0Gj8-vB1q4", 30, 40, "A calm acoustic guitar, with a comma")    # line 2 ok
            + _row("abcdefghijk", 0.0, 10.0, "Fast drums")                         # 3 ok (floats name 0-10)
            + _row("notdownload", 0, 10, "Missing file")                           # 4 missing clip
            + _row("badstart000", "thirty", 40, "Bad number")                      # 5 malformed
            + _row("backwards00", 40, 30, "End before start")                      # 6 malformed
            + _row("nocaption00", 0, 10, "")                                       # 7 empty caption
            + "onlythree,0,10\n"                                                   # 8 wrong field count
            + _row("dupdupdup00", 5, 15, "First") + _row("dupdupdup00", 5, 15, "Second"))  # 9 ok, 10 duplicate
    csv_path = tmp_path / "musiccaps-public.csv"
    csv_path.write_text(HEADER + body, encoding="utf-8")
    clips, skipped = read_musiccaps(csv_path, audio, "{ytid}_{start_s}-{end_s}.flac")
    assert [(c.ytid, c.line) for c in clips] == [("-0Gj8-vB1q4", 2), ("abcdefghijk", 3), ("dupdupdup00", 9)]
    assert clips[0].caption == "A calm acoustic guitar, with a comma" and clips[0].start_s == 30.0
    assert clips[0].clip_id == "y-0Gj8-vB1q4"  # starts with a letter, as manifest ids must
    assert clips[1].audio_path == audio / "abcdefghijk_0-10.flac"
    reasons = {(item.item.rsplit("/", 1)[-1], item.reason) for item in skipped}
    name = csv_path.name
    assert reasons == {("notdownload_0-10.flac", "missing_clip"), (f"{name}:5", "malformed_row"),
                       (f"{name}:6", "malformed_row"), (f"{name}:7", "empty_caption"),
                       (f"{name}:8", "malformed_row"), (f"{name}:10", "duplicate_clip")}


@pytest.mark.parametrize("pattern, message", [("{title}.wav", "unknown placeholder"), ("clip.wav", "{ytid}"),
                                              ("{ytid.wav", "is malformed")])
def test_bad_patterns_are_rejected(pattern, message):
    with pytest.raises(ValueError, match=message):
        check_audio_pattern(pattern)


def test_missing_audio_folder(tmp_path):
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(HEADER)
    with pytest.raises(FileNotFoundError, match="audio folder"):
        read_musiccaps(csv_path, tmp_path / "nowhere")
