"""Checks the documents half of the retrieval evaluation set (stdlib only).

    python3 tests/benchmarks/retrieval/check_documents.py

What it checks, and prints one line per failure (exit status 1 if any):

* ``documents/<slug>.txt``: 2-4 pages, separated by lines holding only a form feed; every
  page 1,200-2,500 characters; one source in ``sources-documents.json`` per file.
* ``questions-documents.json``: unique ids; every quote is 4-15 words, found (whitespace
  collapsed) in exactly one sentence of the named document and in no other document.
* ``paraphrase: true``: no content word of the question is shared with any word of the page
  holding the quote; ``paraphrase: false``: at least one is shared with the quoted sentence.
  Words are lower-cased, PostgreSQL's English stop words dropped, and compared by their
  Snowball (Porter2) English stems, the stemmer of PostgreSQL's ``english`` configuration.
  Being conservative, two words are also shared when one is a prefix (4 characters or
  more) of the other, as words or as stems.
* at least 80 questions, at least 30 of them paraphrases.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCUMENTS = HERE / "documents"
SOURCES = HERE / "sources-documents.json"
QUESTIONS = HERE / "questions-documents.json"

PAGE_CHARS = (1200, 2500)
PAGES = (2, 4)
QUOTE_WORDS = (4, 15)
MIN_QUESTIONS = 80
MIN_PARAPHRASES = 30
PREFIX = 4

# PostgreSQL's english.stop (tsearch_data), the stop words of the `english` configuration.
_STOP_TEXT = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# --- Snowball English (Porter2) stemmer -------------------------------------------------

_VOWELS = frozenset("aeiouy")
_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
_LI_ENDINGS = frozenset("cdeghkmnrt")
_EXCEPTIONS = {
    "skis": "ski", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
    "idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli",
    "singly": "singl", "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas",
    "cosmos": "cosmos", "bias": "bias", "andes": "andes",
}  # fmt: skip
_AFTER_1A = frozenset(
    ("inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed")
)
_STEP2 = (
    ("ization", "ize"), ("ational", "ate"), ("fulness", "ful"), ("ousness", "ous"),
    ("iveness", "ive"), ("tional", "tion"), ("biliti", "ble"), ("lessli", "less"),
    ("entli", "ent"), ("ation", "ate"), ("alism", "al"), ("aliti", "al"), ("ousli", "ous"),
    ("iviti", "ive"), ("fulli", "ful"), ("enci", "ence"), ("anci", "ance"), ("abli", "able"),
    ("izer", "ize"), ("ator", "ate"), ("alli", "al"), ("bli", "ble"), ("ogi", "og"),
    ("li", ""),
)  # fmt: skip
_STEP3 = (
    ("ational", "ate"), ("tional", "tion"), ("alize", "al"), ("icate", "ic"),
    ("iciti", "ic"), ("ative", ""), ("ical", "ic"), ("ness", ""), ("ful", ""),
)  # fmt: skip
_STEP4 = (
    "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate", "iti",
    "ous", "ive", "ize", "ion", "al", "er", "ic",
)  # fmt: skip


def _regions(word: str) -> tuple[int, int]:
    def after_vc(start: int) -> int:
        for i in range(max(start, 1), len(word)):
            if word[i] not in _VOWELS and word[i - 1] in _VOWELS:
                return i + 1
        return len(word)

    r1 = next(
        (len(p) for p in ("gener", "commun", "arsen") if word.startswith(p)), None
    ) or after_vc(1)
    return r1, after_vc(r1 + 1)


def _ends_short_syllable(word: str) -> bool:
    if len(word) == 2:
        return word[0] in _VOWELS and word[1] not in _VOWELS
    return (
        len(word) >= 3
        and word[-3] not in _VOWELS
        and word[-2] in _VOWELS
        and word[-1] not in _VOWELS
        and word[-1] not in "wxY"
    )


def stem(word: str) -> str:
    """The Snowball English (Porter2) stem of a lower-case word."""
    if len(word) <= 2:
        return word
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    chars = list(word)
    if chars[0] == "y":
        chars[0] = "Y"
    for i in range(1, len(chars)):
        if chars[i] == "y" and chars[i - 1] in _VOWELS:
            chars[i] = "Y"
    w = "".join(chars)
    r1, r2 = _regions(w)

    # Step 1a
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith(("ied", "ies")):
        w = w[:-2] if len(w) > 4 else w[:-1]
    elif w.endswith(("us", "ss")):
        pass
    elif w.endswith("s") and any(c in _VOWELS for c in w[:-2]):
        w = w[:-1]
    if w in _AFTER_1A:
        return w

    # Step 1b
    if w.endswith(("eedly", "eed")):
        suffix = "eedly" if w.endswith("eedly") else "eed"
        if len(w) - len(suffix) >= r1:
            w = w[: -len(suffix)] + "ee"
    else:
        for suffix in ("ingly", "edly", "ing", "ed"):
            if w.endswith(suffix):
                base = w[: -len(suffix)]
                if any(c in _VOWELS for c in base):
                    w = base
                    if w.endswith(("at", "bl", "iz")):
                        w += "e"
                    elif w.endswith(_DOUBLES):
                        w = w[:-1]
                    elif r1 >= len(w) and _ends_short_syllable(w):
                        w += "e"
                break

    # Step 1c
    if len(w) > 2 and w[-1] in "yY" and w[-2] not in _VOWELS:
        w = w[:-1] + "i"

    # Step 2
    for suffix, replacement in _STEP2:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= r1 and (
                (suffix == "ogi" and base.endswith("l"))
                or (suffix == "li" and base[-1:] in _LI_ENDINGS)
                or suffix not in ("ogi", "li")
            ):
                w = base + replacement
            break

    # Step 3
    for suffix, replacement in _STEP3:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= (r2 if suffix == "ative" else r1):
                w = base + replacement
            break

    # Step 4
    for suffix in _STEP4:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= r2 and (suffix != "ion" or base.endswith(("s", "t"))):
                w = base
            break

    # Step 5
    if w.endswith("e"):
        base = w[:-1]
        if len(base) >= r2 or (len(base) >= r1 and not _ends_short_syllable(base)):
            w = base
    elif w.endswith("l") and len(w) - 1 >= r2 and w.endswith("ll"):
        w = w[:-1]
    return w.replace("Y", "y")


# --- Words, pages, sentences --------------------------------------------------------------


def words(text: str) -> list[str]:
    """Lower-case words as PostgreSQL's parser splits them (a hyphenated word's parts)."""
    return re.findall(r"[^\W_]+", text.lower())


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOP_WORDS}


def _prefix_related(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return len(short) >= PREFIX and long.startswith(short)


def shared(question_word: str, text_word: str) -> bool:
    """Whether two words count as the same word for the paraphrase rule."""
    if question_word == text_word:
        return True
    qs, ts = stem(question_word), stem(text_word)
    return qs == ts or _prefix_related(question_word, text_word) or _prefix_related(qs, ts)


def shared_words(question: str, text: str) -> list[tuple[str, str]]:
    text_words = content_words(text)
    return sorted((q, t) for q in content_words(question) for t in text_words if shared(q, t))


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*\s+")


def sentences(page: str) -> list[str]:
    """A page's sentences: paragraphs (blank-line separated) split after . ! or ? followed
    by a space, except after a single capital letter (an initial, as in B. F. Skinner)."""
    found = []
    for paragraph in re.split(r"\n\s*\n", page):
        text = collapse(paragraph)
        start = 0
        for match in _SENTENCE_END.finditer(text):
            before = text[start : match.start()].split(" ")[-1]
            if re.fullmatch(r"[A-Z]", before):
                continue
            found.append(text[start : match.start() + 1])
            start = match.end()
        if text[start:]:
            found.append(text[start:])
    return found


def load_pages(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text.split("\n\f\n")


# --- The checks ---------------------------------------------------------------------------


def check() -> tuple[list[str], list[str]]:
    errors: list[str] = []
    documents = {p.stem: load_pages(p) for p in sorted(DOCUMENTS.glob("*.txt"))}
    page_count = char_count = 0
    for slug, pages in documents.items():
        raw = (DOCUMENTS / f"{slug}.txt").read_text(encoding="utf-8")
        if raw.count("\f") != len(pages) - 1:
            errors.append(f"{slug}: a form feed that is not alone on its line")
        if not PAGES[0] <= len(pages) <= PAGES[1]:
            errors.append(f"{slug}: {len(pages)} pages")
        for number, page in enumerate(pages, 1):
            size = len(page.strip())
            page_count += 1
            char_count += size
            if not PAGE_CHARS[0] <= size <= PAGE_CHARS[1]:
                errors.append(f"{slug} page {number}: {size} characters")

    sources = json.loads(SOURCES.read_text(encoding="utf-8"))
    slugs = [s["slug"] for s in sources]
    if sorted(slugs) != sorted(documents):
        errors.append(f"sources and document files differ: {sorted(set(slugs) ^ set(documents))}")
    for source in sources:
        if set(source) != {"slug", "type", "title", "course"}:
            errors.append(f"source {source.get('slug')}: keys {sorted(source)}")
        if source.get("type") != "document" or not source.get("title", "").endswith(".pdf"):
            errors.append(f"source {source.get('slug')}: type or title")

    sentence_index = {
        slug: [(n, s) for n, page in enumerate(pages, 1) for s in sentences(page)]
        for slug, pages in documents.items()
    }
    questions = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    ids = [q["id"] for q in questions]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        errors.append(f"{duplicate}: id used twice")
    for q in questions:
        qid = q["id"]
        if set(q) != {"id", "question", "answers", "paraphrase"}:
            errors.append(f"{qid}: keys {sorted(q)}")
        if not re.fullmatch(r"D\d{3}", qid) or not isinstance(q["paraphrase"], bool):
            errors.append(f"{qid}: id or paraphrase flag")
        if not q["answers"]:
            errors.append(f"{qid}: no answers")
        for answer in q["answers"]:
            slug, quote = answer["source"], collapse(answer["quote"])
            if slug not in documents:
                errors.append(f"{qid}: unknown source {slug}")
                continue
            if not QUOTE_WORDS[0] <= len(quote.split()) <= QUOTE_WORDS[1]:
                errors.append(f"{qid}: quote of {len(quote.split())} words")
            holders = [(n, s) for n, s in sentence_index[slug] if quote in s]
            whole = collapse(" ".join(documents[slug]))
            if len(holders) != 1 or whole.count(quote) != 1:
                errors.append(f"{qid}: quote in {len(holders)} sentences of {slug}: {quote!r}")
                continue
            for other, pages in documents.items():
                if other != slug and quote in collapse(" ".join(pages)):
                    errors.append(f"{qid}: quote also in {other}")
            page_number, sentence = holders[0]
            page = documents[slug][page_number - 1]
            if q["paraphrase"]:
                common = shared_words(q["question"], page)
                if common:
                    errors.append(
                        f"{qid}: paraphrase shares words with {slug} p{page_number}: "
                        + ", ".join(f"{a}~{b}" for a, b in common)
                    )
            elif not shared_words(q["question"], sentence):
                errors.append(f"{qid}: not a paraphrase but shares no word with its sentence")
    paraphrases = sum(q["paraphrase"] for q in questions)
    if len(questions) < MIN_QUESTIONS:
        errors.append(f"{len(questions)} questions (fewer than {MIN_QUESTIONS})")
    if paraphrases < MIN_PARAPHRASES:
        errors.append(f"{paraphrases} paraphrases (fewer than {MIN_PARAPHRASES})")
    summary = [
        f"documents: {len(documents)}",
        f"pages: {page_count}",
        f"characters: {char_count}",
        f"questions: {len(questions)}",
        f"paraphrases: {paraphrases}",
        f"answers naming two places: {sum(len(q['answers']) > 1 for q in questions)}",
    ]
    return summary, errors


def main() -> int:
    summary, errors = check()
    for line in summary:
        print(line)
    for line in errors:
        print("ERROR", line)
    print("OK" if not errors else f"{len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
