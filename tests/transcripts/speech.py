"""Lecture audio whose content says where in the lecture it is, and its decoder.

Each second of the lecture is 16 slots of 62.5 ms, each a 1 kHz tone or silence: slot 0
is always a tone (speech is there), slots 1-14 carry the second's number in binary (most
significant bit first), slot 15 its parity. The provider stub decodes the chunk it is sent
(PyAV, then the mean level of the middle of each slot: no FFT, no numpy) and so knows
which seconds of the lecture the chunk holds, and where in the chunk each one starts.

Seconds form "sentences" of ``SENTENCE_SECONDS``: the stub answers one segment per
sentence (the seconds of it that the chunk holds), so a sentence cut by a chunk's edge
comes back truncated, as real speech cut mid-sentence would.
"""

from __future__ import annotations

import io
import math
import struct
from array import array
from fractions import Fraction
from pathlib import Path

import av

RATE = 16_000
SLOTS = 16
SLOT = RATE // SLOTS  # 1000 samples
BITS = 14
SENTENCE_SECONDS = 3
_TONE = b"".join(
    struct.pack("<h", int(12000 * math.sin(2 * math.pi * 1000 * k / RATE))) for k in range(SLOT)
)
_SILENCE = b"\x00\x00" * SLOT


def _second_bits(second: int) -> list[int]:
    bits = [(second >> (BITS - 1 - i)) & 1 for i in range(BITS)]
    return [1, *bits, sum(bits) % 2]


def second_pcm(second: int) -> bytes:
    return b"".join(_TONE if bit else _SILENCE for bit in _second_bits(second))


def write_speech(path: Path, seconds: int, *, silent: bool = False, codec: str = "aac") -> Path:
    """``seconds`` of mono 16 kHz audio, each second encoded as above (or silence
    throughout): AAC in M4A as the audio job stores it, or (``codec="flac"``, quicker to
    write for an hour-long lecture) FLAC, which the job reads all the same."""
    container = "ipod" if codec == "aac" else codec
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=RATE, layout="mono")
        if codec == "aac":
            stream.bit_rate = 48_000
        frame_size = 1024 if codec == "aac" else 4096
        pcm = io.BytesIO()
        written = 0

        def flush(final: bool) -> None:
            nonlocal written
            data = pcm.getvalue()
            usable = len(data) if final else len(data) - len(data) % (frame_size * 2)
            for offset in range(0, usable, frame_size * 2):
                piece = data[offset : offset + frame_size * 2]
                frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
                frame.planes[0].update(piece)
                frame.sample_rate = RATE
                frame.pts = written
                frame.time_base = Fraction(1, RATE)
                written += frame.samples
                for packet in stream.encode(frame):
                    out.mux(packet)
            pcm.seek(0)
            pcm.truncate()
            pcm.write(data[usable:])

        for second in range(seconds):
            pcm.write(_SILENCE * SLOTS if silent else second_pcm(second))
            if pcm.tell() >= 64 * 1024:
                flush(final=False)
        flush(final=True)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def decode_pcm(data: bytes) -> array:
    """Any audio file's first track as 16 kHz mono signed 16-bit samples."""
    samples = array("h")
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
        for out in resampler.resample(None):
            samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    return samples


def _level(samples: array, start: int) -> float:
    middle = samples[start + 300 : start + 700 : 4]
    return sum(map(abs, middle)) / max(1, len(middle))


def heard_seconds(samples: array) -> list[tuple[int, int]]:
    """``(local second, lecture second)`` for each whole second of the chunk that holds
    speech; a second whose bits do not decode raises (the chunk was cut off the grid)."""
    heard = []
    for local in range(len(samples) // RATE):
        base = local * RATE
        bits = [1 if _level(samples, base + slot * SLOT) > 800 else 0 for slot in range(SLOTS)]
        if not bits[0]:
            if any(bits):
                raise AssertionError(f"second {local} of the chunk: bits without a marker")
            continue
        number = int("".join(map(str, bits[1 : BITS + 1])), 2)
        if sum(bits[1 : BITS + 1]) % 2 != bits[-1]:
            raise AssertionError(f"second {local} of the chunk: parity error")
        heard.append((local, number))
    return heard


def sentences(heard: list[tuple[int, int]]) -> list[dict]:
    """One verbose_json segment per sentence heard (possibly cut by the chunk's edge)."""
    segments: list[dict] = []
    for local, second in heard:
        sentence = second // SENTENCE_SECONDS
        if segments and segments[-1]["sentence"] == sentence and segments[-1]["end"] == local:
            segments[-1]["end"] = local + 1
            segments[-1]["text"] += f" s{second}"
        else:
            segments.append(
                {"sentence": sentence, "start": local, "end": local + 1, "text": f"s{second}"}
            )
    return [
        {"id": i, "start": float(s["start"]), "end": float(s["end"]), "text": " " + s["text"]}
        for i, s in enumerate(segments)
    ]


def seconds_in(texts: list[str]) -> list[int]:
    """The lecture seconds a transcript's texts name, in order."""
    return [int(word[1:]) for text in texts for word in text.split()]
