"""srn-serve's page in a real browser: Debian's headless chromium driven by Playwright.

Two photos and a corrupt file are picked on the page; both photos finish, the corrupt
one shows its reason on its card; the before/after slider and the strength move; the
downloaded results equal the library's output at that strength bit for bit (EXIF and
ICC kept), and "download all" holds both.

With SRN_SERVE_SCREENSHOTS=1 the server runs the bundled model (slower, but its
results are real) and the test saves docs/images/serve-*.png.

Needs the `serve` extra and chromium (`apt-get install -y chromium chromium-driver`);
skipped, saying which is missing, without them. Playwright only drives
/usr/bin/chromium: it never downloads a browser.
"""

import io
import os
import zipfile

import numpy as np
import pytest

REASON = "srn-serve's extra is not installed: pip install 'srn-tf[serve]'"
pytest.importorskip("fastapi", reason=REASON)
pytest.importorskip("uvicorn", reason=REASON)
pytest.importorskip("python_multipart", reason=REASON)
sync_api = pytest.importorskip("playwright.sync_api", reason=REASON)

from tests.serve_support import (CHROMIUM, browser, decoded, encoded,  # noqa: E402,F401
                                 expected_output, make_service, running_server,
                                 save_tiny_model)

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver",
                allow_module_level=True)

pytestmark = pytest.mark.serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENSHOTS = os.environ.get("SRN_SERVE_SCREENSHOTS", "") not in ("", "0")
TIMEOUT_MS = 600_000 if SCREENSHOTS else 120_000


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from srn_tf.checkpoints.loading import load_deblur_model

    if SCREENSHOTS:
        return load_deblur_model(None)
    return load_deblur_model(save_tiny_model(str(tmp_path_factory.mktemp("model") / "tiny")))


@pytest.fixture()
def photos(tmp_path):
    """A PNG, a JPEG with EXIF and an ICC profile, and a corrupt PNG."""
    from PIL import Image, ImageCms

    from srn_tf.data import image_io

    png = tmp_path / "coffee_0.png"
    png.write_bytes(open(os.path.join(ROOT, "examples", "blurred", "coffee_0.png"),
                         "rb").read())
    rocket = image_io.read_image(os.path.join(ROOT, "examples", "blurred", "rocket_0.png"))
    exif = Image.Exif()
    exif[271], exif[272] = "TestCam", "Model 7"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    jpeg = tmp_path / "rocket_0.jpg"
    Image.fromarray(rocket).save(jpeg, exif=exif.tobytes(), icc_profile=profile, quality=92)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 20)
    return png, jpeg, corrupt, profile


@pytest.fixture()
def page_url(model, tmp_path):
    from srn_tf.serve.jobs import model_runner

    service = make_service(model_runner(model), str(tmp_path / "private"),
                           description="the bundled default model" if SCREENSHOTS
                           else "a tiny test model")
    os.mkdir(service.folder)
    with running_server(service) as url:
        yield url


def _card(page, name):
    return page.locator(f'.card[data-name="{name}"]')


def _images_loaded(card):
    return card.locator(".stage img").evaluate_all(
        "images => images.every(image => image.complete && image.naturalWidth > 0)")


def test_the_page_deblurs_two_photos_and_reports_a_corrupt_file(browser, page_url, model,
                                                                photos, tmp_path):
    from srn_tf.data import image_io

    png, jpeg, corrupt, profile = photos
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_url + "/")
    sync_api.expect(page.locator("#server-status")).to_contain_text("Model: ")

    page.set_input_files("#file-input", [str(png), str(jpeg), str(corrupt)])
    sync_api.expect(page.locator(".card")).to_have_count(3)
    failed = _card(page, "corrupt.png")
    sync_api.expect(failed).to_have_class("card failed")
    sync_api.expect(failed.locator(".message")).to_have_text(
        "corrupt.png: corrupt image header (Truncated File Read)")
    sync_api.expect(page.locator(".card.done")).to_have_count(2, timeout=TIMEOUT_MS)
    coffee, rocket = _card(page, "coffee_0.png"), _card(page, "rocket_0.jpg")
    sync_api.expect(coffee.locator(".message")).to_contain_text("done in ")
    sync_api.expect(coffee.locator(".details")).to_contain_text("600×400, 8-bit PNG")
    page.wait_for_function("() => [...document.querySelectorAll('.card.done .stage img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert _images_loaded(coffee) and _images_loaded(rocket)

    # The before/after slider moves the split; the strength blends the result in.
    coffee.locator(".slider").fill("30")
    assert coffee.locator(".after").evaluate("e => e.style.clipPath") == "inset(0px 0px 0px 30%)"
    assert coffee.locator(".divider").evaluate("e => e.style.left") == "30%"
    coffee.locator(".strength").fill("40")
    sync_api.expect(coffee.locator(".strength-value")).to_have_text("40%")
    assert coffee.locator(".after-result").evaluate("e => e.style.opacity") == "0.4"
    assert coffee.locator(".download").get_attribute("href").endswith("strength=0.4")

    if SCREENSHOTS:
        coffee.locator(".slider").fill("50")
        coffee.locator(".strength").fill("100")
        folder = os.path.join(ROOT, "docs", "images")
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        page.screenshot(path=os.path.join(folder, "serve-page.png"))
        coffee.screenshot(path=os.path.join(folder, "serve-before-after.png"))
        failed.screenshot(path=os.path.join(folder, "serve-error.png"))
        coffee.locator(".strength").fill("40")
        coffee.locator(".slider").fill("30")

    # The download at 40% is the library's blend, encoded as the input was (a PNG).
    with page.expect_download() as info:
        coffee.locator(".download").click()
    download = info.value
    assert download.suggested_filename == "coffee_0_deblurred_40.png"
    image, metadata = image_io.read_image_with_metadata(png)
    expected = expected_output(model, image, 0.4)
    saved = tmp_path / "downloads"
    saved.mkdir()
    download.save_as(saved / download.suggested_filename)
    data = (saved / download.suggested_filename).read_bytes()
    np.testing.assert_array_equal(decoded(data, ".png")[0], expected)
    assert data == encoded(expected, ".png", metadata)

    # The JPEG comes back a JPEG at full strength, its EXIF and ICC profile kept.
    with page.expect_download() as info:
        rocket.locator(".download").click()
    assert info.value.suggested_filename == "rocket_0_deblurred.jpg"
    data = open(info.value.path(), "rb").read()
    image, metadata = image_io.read_image_with_metadata(jpeg)
    assert metadata.icc_profile == profile and metadata.exif
    assert data == encoded(expected_output(model, image, 1.0), ".jpg", metadata)
    assert decoded(data, ".jpg")[1] == metadata

    # Zoom 1:1 shows one image pixel per device pixel, scrollable in its frame.
    rocket.locator(".zoom").click()
    sync_api.expect(rocket.locator(".zoom")).to_have_text("Fit to width")
    width, natural, ratio = rocket.locator(".before").evaluate(
        "e => [e.getBoundingClientRect().width, e.naturalWidth, window.devicePixelRatio]")
    assert abs(width - natural / ratio) < 1

    # Download all: one zip of both results, each at its own strength.
    with page.expect_download() as info:
        page.locator("#download-all").click()
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    assert sorted(archive.namelist()) == ["coffee_0_deblurred_40.png", "rocket_0_deblurred.jpg"]
    np.testing.assert_array_equal(decoded(archive.read("coffee_0_deblurred_40.png"), ".png")[0],
                                  expected)
    sync_api.expect(page.locator("#summary")).to_have_text("2 done, 0 in progress, 1 failed")
    assert errors == []
    context.close()
