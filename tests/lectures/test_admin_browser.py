"""Staff retry failed downloads in a real browser: Debian's chromium driven by chromedriver."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django_q.models import OrmQ

from lectures.audio import extract_audio
from lectures.models import Lecture
from tests.admin_helpers import completed_lecture, failed_lecture
from tests.factories import UserFactory
from tests.lectures.media import write_media

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PASSWORD = "a-staff-password-for-the-browser"

pytestmark = [
    pytest.mark.e2e,
    # CI installs them (.ci/run), so there a missing browser fails instead of skipping.
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()) and not os.environ.get("CI"),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; .ci/run does it)",
    ),
]


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=Service(CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log")),
        options=options,
    )
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def staff_with_password(transactional_db, settings):
    # The live server speaks plain HTTP; the production cookie flags would drop the session.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    user = UserFactory(username="moderator", clerk_id=None, is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def test_staff_filter_failed_lectures_and_retry_them_in_a_browser(
    live_server, browser, staff_with_password
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    failed = [failed_lecture(title="Thermodynamics 1"), failed_lecture(title="Thermodynamics 2")]
    done = completed_lecture(title="Optics 1")
    wait = WebDriverWait(browser, 20)

    browser.get(f"{live_server.url}/admin/login/?next=/admin/lectures/lecture/")
    browser.find_element(By.ID, "id_username").send_keys(staff_with_password.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "changelist")))
    assert "Optics 1" in browser.find_element(By.ID, "result_list").text

    browser.find_element(
        By.CSS_SELECTOR, "#changelist-filter a[href*='status__exact=failed']"
    ).click()
    wait.until(ec.url_contains("status__exact=failed"))
    listed = browser.find_element(By.ID, "result_list").text
    assert "Thermodynamics 1" in listed and "Thermodynamics 2" in listed
    assert "Optics 1" not in listed

    browser.find_element(By.ID, "action-toggle").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("retry_download")
    browser.find_element(By.CSS_SELECTOR, "#changelist-form button[name=index]").click()

    message = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".messagelist .success"))
    )
    assert message.text == "Queued 2 lectures for download."
    assert set(Lecture.objects.filter(status="queued").values_list("pk", flat=True)) == {
        lecture.pk for lecture in failed
    }
    assert Lecture.objects.get(pk=done.pk).status == "completed"
    assert {job.task["args"][0] for job in OrmQ.objects.all()} == {
        str(lecture.pk) for lecture in failed
    }


def test_staff_play_a_lectures_extracted_audio_and_seek_in_it(
    live_server, browser, staff_with_password, tmp_path
):
    # The .m4a as the pipeline writes it (fragments, an index in front), played by the
    # browser's own media stack over the admin's Range-serving audio route.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    recording = write_media(tmp_path / "lecture.mp4", seconds=45)
    extract_audio(recording, tmp_path / "audio.m4a")
    lecture = completed_lecture(title="Optics 2", audio=(tmp_path / "audio.m4a").read_bytes())
    wait = WebDriverWait(browser, 20)

    browser.get(f"{live_server.url}/admin/login/?next=/admin/lectures/lecture/{lecture.pk}/change/")
    browser.find_element(By.ID, "id_username").send_keys(staff_with_password.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    link = wait.until(ec.presence_of_element_located((By.PARTIAL_LINK_TEXT, "Play / download")))

    browser.execute_script(
        """
        const audio = document.createElement("audio");
        audio.id = "player";
        audio.preload = "auto";
        audio.addEventListener("error", () => { document.title = "error " + audio.error.code; });
        audio.src = arguments[0];
        document.body.append(audio);
        """,
        link.get_attribute("href"),
    )
    wait.until(lambda b: b.execute_script("return player.readyState") >= 1 or "error" in b.title)
    assert "error" not in browser.title
    assert browser.execute_script("return player.duration") == pytest.approx(45, abs=0.5)

    browser.execute_script(
        "player.addEventListener('seeked', () => { document.title = 'seeked'; });"
        "player.currentTime = 30;"
    )
    wait.until(lambda b: b.title in ("seeked",) or "error" in b.title)
    assert browser.title == "seeked"
    buffered = browser.execute_script(
        "return [...Array(player.buffered.length).keys()]"
        ".map(i => [player.buffered.start(i), player.buffered.end(i)])"
    )
    assert any(start <= 30 < end for start, end in buffered)
    # It plays on from there (muted: a headless browser plays muted media unasked).
    browser.execute_script("player.muted = true; player.play();")
    wait.until(lambda b: b.execute_script("return player.currentTime") > 31 or "error" in b.title)
    assert "error" not in browser.title
    assert browser.execute_script("return player.currentTime") < 40
