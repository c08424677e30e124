"""RFC 9110 on ``GET /api/documents/{id}/file``: ranges, ``If-Range`` and preconditions.

Next to the other file-route tests so that each runs on local disk and on S3. The rules
live in ``core.files.stored_file_response``, which the lecture audio route shares.
"""

from __future__ import annotations

import pytest

from documents.models import Document
from tests.documents.helpers import make_pdf, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

NOT_SATISFIABLE = {"detail": "Range not satisfiable.", "code": "range_not_satisfiable"}


@pytest.fixture
def uploaded(alice_client, course):
    """Alice's document: ``(document, bytes)``."""
    content = make_pdf("ranges", padding=3000)
    response = upload(alice_client, course=course, content=content, name="Ranges.pdf")
    assert response.status_code == 201
    return Document.objects.get(pk=response.json()["id"]), content


def get_file(client, document, **headers):
    return client.get(f"/api/documents/{document.id}/file", **headers)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def assert_whole_file(response, content: bytes) -> None:
    assert response.status_code == 200
    assert "Content-Range" not in response
    assert response["Content-Length"] == str(len(content))
    assert body_of(response) == content


# --- Range (§14.1, §14.2) -------------------------------------------------------------------


@pytest.mark.parametrize("header", ["lines=0-1", "items=0-9", "x-pages=1"])
def test_a_range_unit_other_than_bytes_is_ignored(alice_client, uploaded, header):
    """RFC 9110 §14.2: an origin server MUST ignore a Range with a unit it does not
    understand, and answers the whole representation (200)."""
    document, content = uploaded

    assert_whole_file(get_file(alice_client, document, HTTP_RANGE=header), content)


def test_the_bytes_unit_is_case_insensitive(alice_client, uploaded):
    """RFC 9110 §14.1: range unit names are case-insensitive."""
    document, content = uploaded

    response = get_file(alice_client, document, HTTP_RANGE="Bytes=0-9")

    assert response.status_code == 206
    assert body_of(response) == content[:10]


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "bytes=0-9, 20-29, -5", "bytes=0-1,,4-5"])
def test_several_satisfiable_ranges_answer_the_whole_file(alice_client, uploaded, header):
    """RFC 9110 §14.2 (a server MAY ignore Range) and §15.5.17 (416 only when no range is
    satisfiable): several ranges are answered with the whole file, never 416."""
    document, content = uploaded

    assert_whole_file(get_file(alice_client, document, HTTP_RANGE=header), content)


def test_several_ranges_of_which_one_is_satisfiable_are_not_416(alice_client, uploaded):
    """RFC 9110 §15.5.17: 416 means that none of the ranges overlaps the representation;
    one satisfiable range among unsatisfiable ones is answered (here, the whole file)."""
    document, content = uploaded

    response = get_file(alice_client, document, HTTP_RANGE="bytes=999999-,0-9,888888-")

    assert_whole_file(response, content)


@pytest.mark.parametrize("header", ["bytes=999999-,888888-999999", "bytes=-0,999999-"])
def test_several_ranges_none_satisfiable_are_416(alice_client, uploaded, header):
    """RFC 9110 §15.5.17: when no range is satisfiable the answer is 416 with
    ``Content-Range: bytes */<length>``."""
    document, content = uploaded

    response = get_file(alice_client, document, HTTP_RANGE=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(content)}"
    assert response.json() == NOT_SATISFIABLE


def test_head_ignores_range_and_answers_as_a_plain_get_would(alice_client, uploaded):
    """RFC 9110 §14.2: GET is the only method with range semantics and a server MUST ignore
    Range on others; §9.3.2: HEAD answers the headers of the GET without Range (200, the
    full Content-Length) and no body."""
    document, content = uploaded

    response = alice_client.head(f"/api/documents/{document.id}/file", HTTP_RANGE="bytes=0-9")

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(content))
    assert "Content-Range" not in response
    assert response.content == b""


@pytest.mark.parametrize(
    "header",
    [
        "bytes=" + "9" * 5000 + "-",
        "bytes=" + "9" * 5000 + "-" + "9" * 5000,
        "bytes=0-1," + "9" * 5000 + "-",
    ],
)
def test_absurdly_long_positions_beyond_the_file_are_handled(alice_client, uploaded, header):
    """RFC 9110 §14.1.1 sets no limit on the digits of a position; 5,000 of them (past
    Python's int() limit of 4,300) are a position beyond the file, so the range is
    unsatisfiable (416, §15.5.17) or, among several, the whole file: never a 500."""
    document, content = uploaded

    response = get_file(alice_client, document, HTTP_RANGE=header)

    if "," in header:
        assert_whole_file(response, content)
    else:
        assert response.status_code == 416
        assert response.json() == NOT_SATISFIABLE


@pytest.mark.parametrize(
    ("header", "first", "stop"),
    [
        ("bytes=0-" + "9" * 5000, 0, None),
        ("bytes=-" + "9" * 5000, 0, None),
        ("bytes=" + "0" * 5000 + "10-" + "0" * 5000 + "19", 10, 20),
    ],
)
def test_absurdly_long_positions_are_read_as_numbers(alice_client, uploaded, header, first, stop):
    """RFC 9110 §14.1.2: a last-pos past the end means the rest of the file and a suffix
    longer than the file means all of it; leading zeros do not change a position."""
    document, content = uploaded
    part = content[first:stop]

    response = get_file(alice_client, document, HTTP_RANGE=header)

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{first + len(part) - 1}/{len(content)}"
    assert body_of(response) == part


@pytest.mark.parametrize("header", ["bytes=\u0661-\u0662", "bytes=1_0-20", "bytes=+1-2"])
def test_positions_are_ascii_digits_only(alice_client, uploaded, header):
    """RFC 9110 §14.1.1: a position is 1*DIGIT (ASCII, RFC 5234); other digits, underscores
    and signs make an invalid range set, refused with 416 (§14.2 allows to reject it)."""
    document, _ = uploaded

    response = get_file(alice_client, document, HTTP_RANGE=header)

    assert response.status_code == 416
    assert response.json() == NOT_SATISFIABLE


# --- If-Range (§13.1.5) ---------------------------------------------------------------------


def test_if_range_with_the_current_etag_answers_the_range(alice_client, uploaded):
    """RFC 9110 §13.1.5: a strongly matching If-Range lets the Range apply (206)."""
    document, content = uploaded

    response = get_file(
        alice_client, document, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{document.sha256}"'
    )

    assert response.status_code == 206
    assert body_of(response) == content[:10]


def test_if_range_with_another_etag_answers_the_whole_file(alice_client, uploaded):
    """RFC 9110 §13.1.5: when If-Range does not match, the server ignores Range and answers
    the whole current representation (200)."""
    document, content = uploaded

    response = get_file(alice_client, document, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"v0"')

    assert_whole_file(response, content)


def test_if_range_with_a_weak_etag_never_matches(alice_client, uploaded):
    """RFC 9110 §13.1.5: If-Range uses the strong comparison (§8.8.3.2), which a weak
    entity tag never passes, even with the same opaque tag: the whole file (200)."""
    document, content = uploaded

    response = get_file(
        alice_client, document, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'W/"{document.sha256}"'
    )

    assert_whole_file(response, content)


def test_if_range_with_a_date_answers_the_whole_file(alice_client, uploaded):
    """RFC 9110 §13.1.5: a date in If-Range matches only an exact Last-Modified, and a
    stored file has none, so the Range is ignored (200)."""
    document, content = uploaded

    response = get_file(
        alice_client,
        document,
        HTTP_RANGE="bytes=0-9",
        HTTP_IF_RANGE="Sun, 06 Nov 1994 08:49:37 GMT",
    )

    assert_whole_file(response, content)


# --- Preconditions (§13.1.1, §13.1.2, §13.2.2) -------------------------------------------


@pytest.mark.parametrize("tag", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_with_the_etag_answers_304(alice_client, uploaded, tag):
    """RFC 9110 §13.1.2: If-None-Match uses the weak comparison and ``*`` matches any
    current representation; on GET a match answers 304 with the ETag."""
    document, _ = uploaded
    etag = f'"{document.sha256}"'

    response = get_file(alice_client, document, HTTP_IF_NONE_MATCH=tag.format(etag=etag))

    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response.content == b""


def test_if_none_match_is_evaluated_before_range(alice_client, uploaded):
    """RFC 9110 §13.2.2: If-None-Match (step 3) comes before Range (step 5): 304."""
    document, _ = uploaded

    response = get_file(
        alice_client, document, HTTP_RANGE="bytes=0-9", HTTP_IF_NONE_MATCH=f'"{document.sha256}"'
    )

    assert response.status_code == 304


def test_head_with_a_matching_if_none_match_answers_304(alice_client, uploaded):
    """RFC 9110 §13.1.2: for GET and HEAD a matching If-None-Match is 304."""
    document, _ = uploaded

    response = alice_client.head(
        f"/api/documents/{document.id}/file", HTTP_IF_NONE_MATCH=f'"{document.sha256}"'
    )

    assert response.status_code == 304


@pytest.mark.parametrize("tag", ['"other"', 'W/"{sha}"'])
def test_if_match_with_another_etag_answers_412(alice_client, uploaded, tag):
    """RFC 9110 §13.1.1: If-Match uses the strong comparison; when it fails the answer is
    412 Precondition Failed, with the API's error body."""
    document, _ = uploaded

    response = get_file(alice_client, document, HTTP_IF_MATCH=tag.format(sha=document.sha256))

    assert response.status_code == 412
    assert response.json() == {
        "detail": "The file does not match If-Match.",
        "code": "precondition_failed",
    }


@pytest.mark.parametrize("tag", ["{etag}", "*"])
def test_if_match_with_the_etag_answers_the_file(alice_client, uploaded, tag):
    """RFC 9110 §13.1.1: a strongly matching If-Match (or ``*``) lets the request proceed."""
    document, content = uploaded

    response = get_file(
        alice_client, document, HTTP_IF_MATCH=tag.format(etag=f'"{document.sha256}"')
    )

    assert_whole_file(response, content)


def test_if_unmodified_since_is_ignored_for_a_file_without_a_date(alice_client, uploaded):
    """RFC 9110 §13.1.4: a recipient MUST ignore If-Unmodified-Since when the resource has
    no modification date (a stored file has none): 200, not 412."""
    document, content = uploaded

    response = get_file(
        alice_client, document, HTTP_IF_UNMODIFIED_SINCE="Sun, 06 Nov 1994 08:49:37 GMT"
    )

    assert_whole_file(response, content)
