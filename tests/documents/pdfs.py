"""Real PDFs made in the tests: pages of known text, and hostile files.

Hand-built (the PDF syntax of ISO 32000, a few objects and an xref table), with a Helvetica
font in WinAnsiEncoding so accented Latin text (French, German) comes back as written.
"""

from __future__ import annotations

import zlib

from pypdf import PdfReader, PdfWriter


def _literal(text: str) -> bytes:
    """A PDF literal string of ``text`` in WinAnsiEncoding (cp1252)."""
    raw = text.encode("cp1252")
    out = bytearray(b"(")
    for byte in raw:
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif byte < 32 or byte > 126:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b")")


def _content(text: str) -> bytes:
    lines = [b"BT /F1 12 Tf 14 TL 72 720 Td"]
    for number, line in enumerate(text.split("\n")):
        lines.append((b"" if number == 0 else b"T* ") + _literal(line) + b" Tj")
    lines.append(b"ET")
    return b"\n".join(lines)


def assemble(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """A PDF file of ``objects`` (numbered from 1), with a correct xref table."""
    body = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref,
    )
    return bytes(body)


def stream(data: bytes, *, compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def text_pdf(*pages: str | None, compress: bool = False) -> bytes:
    """A PDF with one page per argument: its lines of text (``\\n`` between lines), or
    ``None`` for a page with no text layer at all (a drawn frame, as a scan would have)."""
    font = 3
    first_page = 4
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for text in pages:
        page_number = len(objects) + 1
        kids.append(b"%d 0 R" % page_number)
        content = b"0.5 w 36 36 540 720 re S" if text is None else _content(text)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, page_number + 1)
        )
        objects.append(stream(content, compress=compress))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    assert first_page == 4
    return assemble(objects)


# --- Hostile files ------------------------------------------------------------------------


def compression_bomb(inflated_bytes: int = 2 * 1024**3) -> bytes:
    """One page whose content stream (FlateDecode) inflates to ``inflated_bytes`` of spaces
    (2 GiB by default, from about 2 MB).

    Built in a moment: after a full flush a deflate stream forgets what came before, so the
    compressed form of each further block of spaces is the same bytes; only the trailing
    Adler-32 checksum has to cover all of them.
    """
    block = b" " * (1024 * 1024)
    blocks = inflated_bytes // len(block)
    compressor = zlib.compressobj(9)
    head = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)[:-4]  # the final empty block, without checksum
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    data = head + repeated * (blocks - 1) + end + checksum.to_bytes(4, "big")
    return assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data),
        ]
    )


def reference_loop() -> bytes:
    """A page tree that contains itself: the root's kid is a node whose kids are the root
    and that node again; the page's contents name the page itself."""
    return assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 3 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R 4 0 R] /Count 3 >>",
            b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        ]
    )


def deep_nesting(depth: int = 100_000) -> bytes:
    """A page whose dictionary holds an array nested ``depth`` levels deep."""
    return assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Deep %s%s >>"
            % (b"[" * depth, b"]" * depth),
        ]
    )


def empty_pages(count: int = 10_000) -> bytes:
    """``count`` pages without contents in one flat page tree."""
    first = 3
    kids = b" ".join(b"%d 0 R" % (first + n) for n in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * count
    return assemble(objects)


def encrypted(password: str = "secret") -> bytes:  # noqa: S107 (a test file's)
    """A PDF of one page of text, encrypted (AES-256) with a user password."""
    import io

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf("confidential matrix"))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_without_password() -> bytes:
    """Encrypted with an empty user password (copy protection only): readable by anyone."""
    return encrypted(password="")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` of a PDF's bytes: no xref table, no trailer, a stream cut short."""
    return data[: int(len(data) * keep)]
