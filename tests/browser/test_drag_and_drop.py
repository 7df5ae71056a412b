"""Files dragged onto the upload area land in the folder (English, this time): the drop
is a real ``drop`` event with a DataTransfer, as a file manager's drag makes it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import NewPage
from tests.browser.support import axe_check
from tests.browser.test_files_flows import ANNA, ANNA_PW, dav_get, listed, log_in
from tests.common.server import LiveServer

DROP = """([names, texts]) => {
  const data = new DataTransfer();
  names.forEach((name, i) => data.items.add(new File([texts[i]], name, {type: 'text/plain'})));
  const target = document.querySelector('#uploader .uppy-Dashboard-inner');
  for (const type of ['dragenter', 'dragover', 'drop']) {
    const init = {dataTransfer: data, bubbles: true, cancelable: true};
    target.dispatchEvent(new DragEvent(type, init));
  }
}"""


def test_files_dropped_on_the_upload_area_are_uploaded(live: LiveServer, new_page: NewPage) -> None:
    live.user(ANNA, ANNA_PW)
    page = new_page("en")
    log_in(page, ANNA, ANNA_PW)
    names, texts = ["Plan A.txt", "Plan B.txt"], ["first plan\n" * 50, "second plan\n" * 70]
    page.evaluate(DROP, [names, texts])
    upload = page.locator("#uploader .uppy-StatusBar-actionBtn--upload")
    if upload.count():  # Uppy waits for a click unless it starts on its own
        upload.click()
    expect(page.locator("#upload-status")).to_have_text(re.compile(r"100 %"), timeout=60_000)
    expect(page.locator("#listing input[name=item]")).to_have_count(2)
    assert listed(page) == names
    for name, text in zip(names, texts, strict=True):
        assert dav_get(live, name) == text.encode()
    # The Dashboard's list of finished files goes once the batch is done (as after any
    # upload); axe-core checks the page in both states.
    axe_check(page, "files (a drag and drop just done)")
    expect(page.locator("#uploader .uppy-Dashboard-Item")).to_have_count(0)
    axe_check(page, "files (after a drag and drop)")
