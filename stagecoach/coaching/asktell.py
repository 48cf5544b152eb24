"""Count questions asked against directives given, from notes or a transcript.

Good coaching asks more than it tells. A manager can type the tally, or paste what was
said: plain notes, or a WebVTT / SRT transcript from the meeting tool. This module
reads the text, keeps the manager's lines when speakers are named, and counts:

- a *question*: a sentence ending in "?", or opening with an asking phrase
  ("what", "how", "tell me about", "walk me through"...);
- a *directive*: a sentence that tells ("you need to", "make sure", "send",
  "next time"...), or opens with a plain imperative verb.

It is a heuristic and says so: the page shows the counts for the manager to correct.
Pure Python, no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TIMING = re.compile(
    r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}.*$"
)
_CUE_NUMBER = re.compile(r"^\s*\d+\s*$")
# Tags never span another "<" and are short: a line of "<v <v <v …" without a ">" is
# read in linear time, not tried from every "<" to the end of the line.
_VOICE = re.compile(r"<v(?:\.[^ <>]{0,40})?\s+([^<>]{1,200})>")
_TAG = re.compile(r"</?[^<>]{1,200}>")
# The longest transcript read: some three hours of a meeting.
MAX_TRANSCRIPT = 300_000
_SPEAKER = re.compile(r"^\s*([A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3})\s*:\s+(.*)$")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")

ASKING = (
    "what",
    "how",
    "why",
    "who",
    "when",
    "where",
    "which",
    "could you",
    "can you",
    "would you",
    "do you",
    "did you",
    "does",
    "is there",
    "are there",
    "have you",
    "tell me about",
    "tell me more",
    "walk me through",
    "help me understand",
    "talk me through",
)
TELLING = (
    "you need to",
    "you should",
    "you must",
    "you have to",
    "you've got to",
    "i want you to",
    "i need you to",
    "make sure",
    "next time",
    "don't",
    "do not",
    "stop ",
    "always ",
    "never ",
    "remember to",
    "be sure to",
    "let's make sure",
)
IMPERATIVE_VERBS = (
    "send",
    "call",
    "email",
    "book",
    "schedule",
    "update",
    "get",
    "ask",
    "push",
    "close",
    "follow",
    "add",
    "move",
    "set",
    "put",
    "go",
    "use",
    "write",
    "change",
    "fix",
    "try",
)


@dataclass
class Tally:
    questions: int = 0
    directives: int = 0
    lines: int = 0
    speakers: list[str] = field(default_factory=list)
    counted_speaker: str | None = None

    @property
    def ask_share(self) -> float | None:
        total = self.questions + self.directives
        return self.questions / total if total else None


def utterances(text: str) -> list[tuple[str | None, str]]:
    """(speaker, words) per spoken line of notes, WebVTT or SRT."""
    result: list[tuple[str | None, str]] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line or line.upper().startswith("WEBVTT") or line.startswith(("NOTE", "STYLE")):
            continue
        if _TIMING.match(line) or _CUE_NUMBER.match(line):
            continue
        speaker: str | None = None
        voice = _VOICE.search(line)
        if voice:
            speaker = voice.group(1).strip()
        line = _TAG.sub("", line).strip()
        named = _SPEAKER.match(line)
        if named and speaker is None:
            speaker, line = named.group(1).strip(), named.group(2).strip()
        elif named:
            line = named.group(2).strip()
        line = line.lstrip("-–• ").strip()
        if line:
            result.append((speaker, line))
    return result


def classify(sentence: str) -> str | None:
    """'question', 'directive' or None for one sentence."""
    text = sentence.strip()
    if not text:
        return None
    lower = text.lower().lstrip("\"'“ ")
    lower = re.sub(r"^(so|and|ok|okay|right|well|now|alright)[,\s]+", "", lower)
    if text.endswith("?") or lower.startswith(ASKING):
        return "question"
    if any(phrase in lower for phrase in TELLING):
        return "directive"
    first = lower.split(" ", 1)[0].strip(",.!")
    if first in IMPERATIVE_VERBS:
        return "directive"
    return None


def _matches(speaker: str | None, coach: str) -> bool:
    if speaker is None:
        return False
    s, c = speaker.lower(), coach.lower()
    return s == c or s in c.split() or c.split()[0] == s.split()[0]


def count(text: str, *, coach: str | None = None) -> Tally:
    """Tally the coach's questions and directives. Without named speakers, every line counts.

    Only the first MAX_TRANSCRIPT characters are read."""
    spoken = utterances(text[:MAX_TRANSCRIPT])
    speakers = sorted({s for s, _ in spoken if s})
    tally = Tally(speakers=speakers)
    keep = spoken
    if coach and speakers:
        mine = [(s, line) for s, line in spoken if _matches(s, coach)]
        if mine:
            keep = mine
            tally.counted_speaker = mine[0][0]
    for _, line in keep:
        tally.lines += 1
        for sentence in _SENTENCE.findall(line):
            kind = classify(sentence)
            if kind == "question":
                tally.questions += 1
            elif kind == "directive":
                tally.directives += 1
    return tally
