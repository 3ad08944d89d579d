"""The page and its assets as served by the API: types browsers accept, nothing outside the folder."""

import httpx
import pytest

from deployments.http.web import WEB_DIR


def test_the_page_is_served_at_the_root(live):
    r = httpx.get(live.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/app.js">' in r.text


@pytest.mark.parametrize("name", sorted(p.name for p in WEB_DIR.glob("*.js")))
def test_modules_are_served_as_javascript(live, name):
    r = httpx.get(f"{live.url}/ui/{name}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/ui/nope.js", "/ui/..%2Fweb.py", "/ui/%2E%2E%2Froutes.py"])
def test_unknown_assets_are_404(live, path):
    r = httpx.get(live.url + path)
    assert r.status_code == 404 and "import" not in r.text


def test_the_page_uses_no_cdn():
    for path in WEB_DIR.iterdir():
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
        assert "https://" not in text.replace("https://example.com/cat.jpg", ""), path.name
