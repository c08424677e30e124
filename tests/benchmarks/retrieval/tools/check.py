"""Check the lectures half of the retrieval set; standard library only.

    python3 check.py        # from anywhere: prints the counts and every problem; exits 1 on any

It checks that every lectures/*.vtt is valid WebVTT (cues of 3 to 8 seconds, back to back from
00:00:00.000, one or two lines, no markup), that sources-lectures.json names each lecture once,
that every quote of questions-lectures.json lies in exactly one cue of the named lecture and of
no other, and the paraphrase rule: a question marked paraphrase shares no content word with the
cues within 90 seconds of any of its quotes, and one not so marked shares one with a quoted cue.
Words are compared as PostgreSQL's `english` configuration would (its stop words, the Snowball
English stemmer), and, to be safe, two words also count as shared when one is a prefix, of four
letters or more, of the other (as written or as stemmed).
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
LEXICON = HERE.parent.parent / "search" / "lexicon" / "lectures.txt"
WINDOW_MS = 90_000

# PostgreSQL's english.stop (the Snowball list).
STOP_LIST = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
her hers herself it its itself they them their theirs themselves what which who whom this that
these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during
before after above below to from up down in out on off over under again further then once here
there when where why how all any both each few more most other some such no nor not only own
same so than too very s t can will just don should now
"""
STOP = set(STOP_LIST.split())

# --- Snowball English (Porter2) stemmer -------------------------------------------------------

VOWELS = "aeiouy"
DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
LI_ENDINGS = "cdeghkmnrt"


def _pairs(text):
    return [tuple(pair.split(":")) for pair in text.split()]


EXCEPTIONS = dict(
    _pairs("""
    skis:ski skies:sky dying:die lying:lie tying:tie idly:idl gently:gentl ugly:ugli early:earli
    only:onli singly:singl sky:sky news:news howe:howe atlas:atlas cosmos:cosmos bias:bias
    andes:andes
    """)
)
AFTER_1A = {"inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed"}
STEP2 = _pairs("""
    ization:ize ational:ate fulness:ful ousness:ous iveness:ive tional:tion biliti:ble lessli:less
    entli:ent ation:ate alism:al aliti:al ousli:ous iviti:ive fulli:ful enci:ence anci:ance
    abli:able izer:ize ator:ate alli:al bli:ble ogi:og li:
""")
STEP3 = _pairs("ational:ate tional:tion alize:al icate:ic iciti:ic ative: ical:ic ness: ful:")
STEP4_TEXT = "ement ance ence able ible ment ant ent ism ate iti ous ive ize ion al er ic"
STEP4 = STEP4_TEXT.split()


def _region(w, start):
    for i in range(start + 1, len(w)):
        if w[i] not in VOWELS and w[i - 1] in VOWELS:
            return i + 1
    return len(w)


def _short_syllable_end(w):
    if len(w) == 2:
        return w[0] in VOWELS and w[1] not in VOWELS
    return len(w) > 2 and w[-3] not in VOWELS and w[-2] in VOWELS and w[-1] not in VOWELS + "wxY"


def _has_vowel(s):
    return any(c in VOWELS for c in s)


def stem(word):
    w = word.lower().lstrip("'")
    if w in EXCEPTIONS:
        return EXCEPTIONS[w]
    if len(w) <= 2:
        return w
    if w[0] == "y":
        w = "Y" + w[1:]
    w = w[0] + "".join("Y" if c == "y" and w[i] in VOWELS else c for i, c in enumerate(w[1:]))
    for prefix in ("gener", "commun", "arsen"):
        if w.startswith(prefix):
            r1 = len(prefix)
            break
    else:
        r1 = _region(w, 0)
    r2 = _region(w, r1)

    for suffix in ("'s'", "'s", "'"):  # step 0
        if w.endswith(suffix):
            w = w[: -len(suffix)]
            break
    if w.endswith("sses"):  # step 1a
        w = w[:-2]
    elif w.endswith(("ied", "ies")):
        w = w[:-2] if len(w) > 4 else w[:-1]
    elif w.endswith(("us", "ss")):
        pass
    elif w.endswith("s") and _has_vowel(w[:-2]):
        w = w[:-1]
    if w in AFTER_1A:
        return w

    for suffix in ("eedly", "eed"):  # step 1b
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r1:
                w = w[: -len(suffix)] + "ee"
            break
    else:
        for suffix in ("ingly", "edly", "ing", "ed"):
            if w.endswith(suffix):
                if _has_vowel(w[: -len(suffix)]):
                    w = w[: -len(suffix)]
                    if w.endswith(("at", "bl", "iz")):
                        w += "e"
                    elif w.endswith(DOUBLES):
                        w = w[:-1]
                    elif r1 >= len(w) and _short_syllable_end(w):
                        w += "e"
                break
    if len(w) > 2 and w[-1] in "yY" and w[-2] not in VOWELS:  # step 1c
        w = w[:-1] + "i"

    for suffix, repl in STEP2:
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r1:
                if suffix == "ogi":
                    if w[-4:-3] == "l":
                        w = w[:-3] + repl
                elif suffix == "li":
                    if w[-3:-2] and w[-3] in LI_ENDINGS:
                        w = w[:-2]
                else:
                    w = w[: -len(suffix)] + repl
            break
    for suffix, repl in STEP3:
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r1 and (suffix != "ative" or len(w) - 5 >= r2):
                w = w[: -len(suffix)] + repl
            break
    for suffix in STEP4:
        if w.endswith(suffix):
            if len(w) - len(suffix) >= r2 and (suffix != "ion" or w[-4:-3] in ("s", "t")):
                w = w[: -len(suffix)]
            break
    if w.endswith("e"):  # step 5
        base = w[:-1]
        if len(base) >= r2 or (len(base) >= r1 and not _short_syllable_end(base)):
            w = base
    elif w.endswith("ll") and len(w) - 1 >= r2:
        w = w[:-1]
    return w.replace("Y", "y")


# --- words ----------------------------------------------------------------------------------


def content_words(text):
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP}


def shared(a, b):
    if a == b or stem(a) == stem(b):
        return True
    for x, y in ((a, b), (stem(a), stem(b))):
        short, long = sorted((x, y), key=len)
        if len(short) >= 4 and long.startswith(short):
            return True
    return False


def overlap(question, text):
    words = content_words(text)
    return sorted({q for q in content_words(question) for w in words if shared(q, w)})


# --- files ----------------------------------------------------------------------------------

TIME = r"(\d\d):(\d\d):(\d\d)\.(\d\d\d)"
TIMING = re.compile(f"^{TIME} --> {TIME}$")


def ms(h, m, s, f):
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(f)


def read_vtt(path, problems):
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    if blocks[0] != "WEBVTT":
        problems.append(f"{path.name}: the file must start with WEBVTT and a blank line")
    cues, previous_end = [], 0
    for block in blocks[1:]:
        lines = block.strip("\n").split("\n")
        if lines == [""]:
            continue
        timing = TIMING.match(lines[0])
        if not timing or not 2 <= len(lines) <= 3:
            problems.append(f"{path.name}: bad cue {block!r}")
            continue
        start, end = ms(*timing.groups()[:4]), ms(*timing.groups()[4:])
        text = " ".join(lines[1:])
        if start != previous_end or not 3000 <= end - start <= 8000:
            problems.append(f"{path.name}: cue at {lines[0]} is not 3-8 s after the last one")
        if re.search(r"[<>&]|-->", text) or not text.strip():
            problems.append(f"{path.name}: cue at {lines[0]} has markup or no text")
        cues.append((start, end, " ".join(text.split())))
        previous_end = end
    return cues


def main():
    problems = []
    lectures = {p.stem: read_vtt(p, problems) for p in sorted((HERE / "lectures").glob("*.vtt"))}
    sources = json.loads((HERE / "sources-lectures.json").read_text(encoding="utf-8"))
    slugs = [s["slug"] for s in sources]
    if sorted(slugs) != sorted(lectures) or len(set(slugs)) != len(slugs):
        problems.append("sources-lectures.json must name each lecture once")
    for s in sources:
        if s.get("type") != "lecture" or not s.get("title") or not s.get("course"):
            problems.append(f"source {s.get('slug')}: needs type lecture, a title and a course")
    words = 0
    for slug, cues in lectures.items():
        words += sum(len(c[2].split()) for c in cues)
        minutes = cues[-1][1] / 60000 if cues else 0
        count = sum(len(c[2].split()) for c in cues)
        if not (7 <= minutes <= 10 and 1000 <= count <= 1400):
            problems.append(f"{slug}: {minutes:.1f} minutes, {count} words")

    questions = json.loads((HERE / "questions-lectures.json").read_text(encoding="utf-8"))
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        problems.append("question ids are not unique")
    for q in questions:
        qid, text = q["id"], q["question"]
        if not re.fullmatch(r"L\d{3}", qid) or not isinstance(q.get("paraphrase"), bool):
            problems.append(f"{qid}: id must be Lnnn and paraphrase true or false")
        if not q["answers"]:
            problems.append(f"{qid}: no answers")
        cues_shared = []
        for answer in q["answers"]:
            quote, slug = " ".join(answer["quote"].split()), answer["source"]
            if slug not in lectures:
                problems.append(f"{qid}: unknown lecture {slug}")
                continue
            if not 4 <= len(quote.split()) <= 15:
                problems.append(f"{qid}: the quote must be 4-15 words: {quote!r}")
            places = [
                (s, i) for s, cues in lectures.items() for i, c in enumerate(cues) if quote in c[2]
            ]
            if len(places) != 1 or places[0][0] != slug:
                problems.append(f"{qid}: {quote!r} is in {len(places)} cues: {places[:3]}")
                continue
            cues = lectures[slug]
            start, end, cue = cues[places[0][1]]
            near = " ".join(
                c[2] for c in cues if c[1] > start - WINDOW_MS and c[0] < end + WINDOW_MS
            )
            if q["paraphrase"] and overlap(text, near):
                problems.append(f"{qid}: paraphrase shares {overlap(text, near)} within 90 s")
            cues_shared.append(bool(overlap(text, cue)))
        if not q["paraphrase"] and not any(cues_shared):
            problems.append(f"{qid}: shares no content word with any quoted cue")
    paraphrases = sum(q["paraphrase"] for q in questions)
    if len(questions) < 80 or paraphrases < 30:
        problems.append(f"{len(questions)} questions, {paraphrases} paraphrases: too few")

    groups = [
        line.split("#")[0].split() for line in LEXICON.read_text(encoding="utf-8").splitlines()
    ]
    groups = [g for g in groups if g]
    for g in groups:
        if len(g) < 2 or any(not re.fullmatch(r"[a-z]+", w) for w in g):
            problems.append(f"lexicon: bad group {' '.join(g)}")

    cue_count = sum(len(c) for c in lectures.values())
    print(
        f"{len(lectures)} lectures, {cue_count} cues, {words} words; {len(questions)} questions, "
        f"{paraphrases} paraphrases; {len(groups)} lexicon groups"
    )
    for p in problems:
        print("PROBLEM", p)
    print("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
