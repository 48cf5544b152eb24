"""Counting questions against directives in notes and transcripts."""

from __future__ import annotations

import pytest

from stagecoach.coaching.asktell import classify, count, utterances

WEBVTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Mona Manager>How did the Globex discovery call go?

00:00:04.500 --> 00:00:09.000
<v Alice Rep>Fine. They want a proposal next week. What should I put in it?

00:00:09.500 --> 00:00:14.000
<v Mona Manager>What did they tell you about their budget? Walk me through who signs.

00:00:14.500 --> 00:00:18.000
<v Mona Manager>You need to get the CFO on the next call. Send the ROI model today.
"""

SRT = """1
00:00:01,000 --> 00:00:04,000
Mona: So what is the compelling event?

2
00:00:04,500 --> 00:00:08,000
Alice: End of quarter.

3
00:00:08,500 --> 00:00:12,000
Mona: Make sure you confirm it in writing.
"""


def test_webvtt_counts_only_the_coachs_lines() -> None:
    tally = count(WEBVTT, coach="Mona Manager")
    assert tally.counted_speaker == "Mona Manager"
    assert tally.speakers == ["Alice Rep", "Mona Manager"]
    assert (tally.questions, tally.directives) == (3, 2)
    assert tally.ask_share == pytest.approx(0.6)


def test_srt_with_first_names_as_speakers() -> None:
    tally = count(SRT, coach="Mona Manager")
    assert tally.counted_speaker == "Mona"
    assert (tally.questions, tally.directives) == (1, 1)


def test_plain_notes_count_every_line() -> None:
    notes = "- Asked what the next step is?\n- Told her to call the CFO.\nCall the CFO by Friday.\nGood week overall."
    tally = count(notes, coach="Mona Manager")
    assert tally.counted_speaker is None
    assert (tally.questions, tally.directives) == (1, 1)
    assert tally.lines == 4


def test_when_no_speaker_matches_the_coach_every_line_counts() -> None:
    tally = count(SRT, coach="Zed Nobody")
    assert tally.counted_speaker is None
    assert tally.questions == 1 and tally.directives == 1


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("What happens if they say no?", "question"),
        ("Tell me about the decision process.", "question"),
        ("So how will you get to the economic buyer", "question"),
        ("You should send the proposal today.", "directive"),
        ("Next time bring the champion.", "directive"),
        ("Send it to me first.", "directive"),
        ("Don't discount before they ask.", "directive"),
        ("The customer liked the demo.", None),
        ("", None),
    ],
)
def test_classify(sentence: str, kind: str | None) -> None:
    assert classify(sentence) == kind


def test_cue_numbers_timings_and_headers_are_not_speech() -> None:
    spoken = utterances(SRT)
    assert [s for s, _ in spoken] == ["Mona", "Alice", "Mona"]
    assert all("-->" not in line for _, line in spoken)
    assert count("").questions == 0 and count("").ask_share is None


@pytest.mark.parametrize(
    "hostile",
    [
        "<v " * 170_000,  # 510 KB of voice tags that never close: 120 s before
        "<" * 500_000,
        "<v.loud " * 60_000,
        "</" * 250_000 + ">",
    ],
    ids=["open-voices", "angles", "voice-classes", "closing-tags"],
)
def test_a_hostile_transcript_is_read_in_linear_time(hostile: str) -> None:
    """A guard, not a timing: a regular expression that tries every "<" to the end of the
    line takes minutes here (and the alarm fails the test); a linear one, milliseconds."""
    import signal

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        raise TimeoutError("the transcript parser is not linear")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(30)
    try:
        tally = count(hostile + "\nMia: What did the buyer say?")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert tally.lines >= 0


def test_tags_are_still_read() -> None:
    tally = count("<v Mia Manager>What is the next step?</v>\n<v Ann>We send the quote.</v>",
                  coach="Mia Manager")  # fmt: skip
    assert tally.counted_speaker == "Mia Manager"
    assert tally.questions == 1


def test_only_the_first_part_of_a_huge_paste_is_read() -> None:
    from stagecoach.coaching.asktell import MAX_TRANSCRIPT

    text = "What next?\n" * (MAX_TRANSCRIPT // 11 + 1000)
    assert count(text).lines in (MAX_TRANSCRIPT // 11, MAX_TRANSCRIPT // 11 + 1)


@pytest.mark.django_db
def test_the_log_form_refuses_a_transcript_past_the_limit_and_says_it() -> None:
    from stagecoach.coaching.asktell import MAX_TRANSCRIPT
    from stagecoach.coaching.forms import LogForm

    form = LogForm(data={"transcript": "x" * (MAX_TRANSCRIPT + 1)})
    assert not form.is_valid()
    assert "300,000 characters" in form.errors["transcript"][0]
