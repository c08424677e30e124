"""Reading session ids from the Panopto links students paste."""

from __future__ import annotations

import pytest

from lectures.panopto import InvalidPanoptoUrl, extract_session_id

GUID = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    "url",
    [
        f"https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={GUID}",
        f"https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={GUID.upper()}",
        f"https://demo.panopto.eu/Panopto/Pages/Viewer.aspx?instance=abc&id={GUID}&start=12.5",
        f"https://lecture.univ.example.edu/panopto/pages/viewer.aspx?ID={GUID}",
        f"http://video.example.ac.uk/PANOPTO/PAGES/VIEWER.ASPX?id={GUID}#t=30",
        f"https://x.hosted.panopto.com/Panopto/Pages/Embed.aspx?id={GUID}&autoplay=false",
        f"https://x.hosted.panopto.com/Panopto/Pages/Embed.aspx?autoplay=true&id={GUID.upper()}",
        f"https://x.hosted.panopto.com/Panopto/Pages/Viewer.aspx?pid=0000&id={GUID}",
        f"https://x.hosted.panopto.com/Panopto/Podcast/Social/{GUID}.mp4",
        f"https://x.hosted.panopto.com/Panopto/Podcast/Download/{GUID.upper()}.mp4?mediaTargetType=videoPodcast",
        f"https://x.hosted.panopto.com/Panopto/Podcast/Syndication/{GUID}.mp4",
        f"  https://x.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={GUID}  ",
    ],
)
def test_accepted_forms_give_the_lower_case_session_id(url: str) -> None:
    assert extract_session_id(url) == GUID


def test_two_spellings_of_one_session_give_the_same_id() -> None:
    upper = f"https://a.panopto.com/Panopto/Pages/Viewer.aspx?id={GUID.upper()}"
    embed = f"https://a.panopto.com/Panopto/Pages/Embed.aspx?id={GUID}"
    assert extract_session_id(upper) == extract_session_id(embed)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"https://x.panopto.com/Panopto/Pages/Viewer.aspx?tid={GUID}", "'tid'"),
        (f"https://x.panopto.com/Panopto/Pages/Sessions/List.aspx#folderID={GUID}", "folder"),
        (f"https://x.panopto.com/Panopto/Pages/Viewer.aspx?pid={GUID}", "playlist"),
        ("https://d2y36twrtb17ty.cloudfront.net/sessions/a/b-c.hls/master.m3u8?x=1", "stream"),
        ("https://d2y36twrtb17ty.cloudfront.net/sessions/a/video.mp4", "stream"),
        (f"ftp://x.panopto.com/Panopto/Pages/Viewer.aspx?id={GUID}", "http"),
        (f"javascript:alert('{GUID}')", "http"),
        (f"file:///Panopto/Pages/Viewer.aspx?id={GUID}", "http"),
        ("https://x.panopto.com/Panopto/Pages/Viewer.aspx", "no session id"),
        ("https://x.panopto.com/Panopto/Pages/Viewer.aspx?id=", "no session id"),
        ("https://x.panopto.com/Panopto/Pages/Viewer.aspx?id=not-a-guid", "not a valid GUID"),
        (
            "https://x.panopto.com/Panopto/Pages/Viewer.aspx?id=3f2a9c1e7b4d4e8a9c0f1a2b3c4d5e6f",
            "not a valid GUID",
        ),
        ("https://x.panopto.com/Panopto/Podcast/Social/nope.mp4", "not a valid GUID"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "Not a Panopto recording link"),
        ("not a url", "http"),
        ("", "http"),
        (f"http://[::1/Panopto/Pages/Viewer.aspx?id={GUID}", "not a valid URL"),
        (f"https://x.panopto.com:99999/Panopto/Pages/Viewer.aspx?id={GUID}", "not a valid URL"),
    ],
)
def test_refused_forms_say_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidPanoptoUrl) as excinfo:
        extract_session_id(url)
    assert reason in str(excinfo.value)


def test_invalid_panopto_url_is_a_value_error() -> None:
    assert issubclass(InvalidPanoptoUrl, ValueError)
