"""Turn a lecture written as plain sentences into WebVTT captions.

    python3 make_vtt.py lecture.txt > lecture.vtt

Speech is timed at 2.5 words a second. A cue holds a sentence, or a clause of a long one, with
short sentences joined to the next; each lasts 3 to 8 seconds, back to back from 00:00:00.000.
"""

import math
import re
import sys

WORDS_PER_SECOND = 2.5
MAX_WORDS = 20  # 8 seconds
MIN_WORDS = 8  # a shorter cue takes the next sentence along when it fits


def pieces(text):
    for sentence in re.split(r"(?<=[.?!])\s+", " ".join(text.split())):
        chunk = []
        for clause in re.split(r"(?<=[,;:])\s+", sentence):
            words = clause.split()
            if chunk and len(chunk) + len(words) > MAX_WORDS:
                yield chunk
                chunk = []
            chunk += words
            while len(chunk) > MAX_WORDS:
                parts = math.ceil(len(chunk) / MAX_WORDS)
                size = math.ceil(len(chunk) / parts)
                yield chunk[:size]
                chunk = chunk[size:]
        if chunk:
            yield chunk


def cues(text):
    cue = []
    for piece in pieces(text):
        if cue and (len(cue) >= MIN_WORDS or len(cue) + len(piece) > MAX_WORDS):
            yield cue
            cue = []
        cue += piece
    if cue:
        yield cue


def stamp(ms):
    return f"{ms // 3600000:02}:{ms // 60000 % 60:02}:{ms // 1000 % 60:02}.{ms % 1000:03}"


def lines(words):
    text = " ".join(words)
    if len(text) <= 42:
        return text
    middle = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(text) / 2))
    return " ".join(words[:middle]) + "\n" + " ".join(words[middle:])


def vtt(text):
    out, start = ["WEBVTT", ""], 0
    for words in cues(text):
        end = start + round(1000 * min(8, max(3, len(words) / WORDS_PER_SECOND)))
        out += [f"{stamp(start)} --> {stamp(end)}", lines(words), ""]
        start = end
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as source:
        sys.stdout.write(vtt(source.read()))
