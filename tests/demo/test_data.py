"""Finding the transaction log, and downloading it from a local HTTP server (never the
internet)."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from rich.console import Console

from omniretail.demo.data import SHARED_FILE, FoundLog, cached_log_path, find_transaction_log
from omniretail.demo.errors import DataNotFound, DownloadFailed
from omniretail.settings import Settings
from tests.history.logs import quirky_frame

QUIET = Console(quiet=True)


@dataclass
class Served:
    """What the loopback server returns, and the requests it saw."""

    body: bytes = b""
    ranges: bool = True
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def server() -> Iterator[Served]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append({"path": self.path, "range": self.headers.get("Range", "")})
            body, status = served.body, 200
            wanted = self.headers.get("Range", "")
            if served.ranges and wanted.startswith("bytes="):
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                body, status = served.body[start:], 206
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}/online+retail+ii.zip"
    yield served
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def uci_archive(frame: pl.DataFrame, second_sheet_from: datetime) -> bytes:
    """A zip holding online_retail_II.xlsx with the UCI sheets; the second sheet repeats the
    first one's rows from ``second_sheet_from`` on, as the original does."""
    workbook_bytes = io.BytesIO()
    with xlsxwriter.Workbook(workbook_bytes, {"in_memory": True}) as workbook:
        frame.write_excel(workbook, worksheet="Year 2009-2010")
        frame.filter(pl.col("InvoiceDate") >= second_sheet_from).write_excel(
            workbook, worksheet="Year 2010-2011"
        )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("online_retail_II.xlsx", workbook_bytes.getvalue())
    return archive.getvalue()


def settings_in(tmp_path: Path) -> Settings:
    return Settings(data=None, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


def find(
    tmp_path: Path,
    url: str | None,
    *,
    explicit: Path | None = None,
    settings: Settings | None = None,
    cwd: Path | None = None,
    package_dir: Path | None = None,
) -> FoundLog:
    return find_transaction_log(
        explicit,
        settings or settings_in(tmp_path),
        url=url,
        cwd=cwd or tmp_path / "work",
        package_dir=package_dir or tmp_path / "site" / "omniretail",
        console=QUIET,
    )


def test_the_archive_is_downloaded_and_converted_once(server, tmp_path):
    frame = quirky_frame().filter(pl.col("InvoiceDate").is_not_null())
    server.body = uci_archive(frame, datetime(2010, 7, 3))

    found = find(tmp_path, server.url)
    again = find(tmp_path, server.url)

    assert found.origin == "downloaded"
    assert found.path == cached_log_path(tmp_path / "cache", server.url)
    assert again.origin == "cached download"
    assert again.path == found.path
    assert server.requests == [{"path": "/online+retail+ii.zip", "range": ""}]
    # Sheet one up to where sheet two starts, then sheet two.
    cut = pl.col("InvoiceDate") < datetime(2010, 7, 3)
    expected = pl.concat([frame.filter(cut), frame.filter(~cut)])
    assert pl.read_parquet(found.path).equals(expected)
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".parquet", ".zip"]


def test_the_download_address_comes_from_omniretail_data_url(server, tmp_path, monkeypatch):
    server.body = uci_archive(quirky_frame().head(3), datetime(2011, 1, 1))
    monkeypatch.setenv("OMNIRETAIL_DATA_URL", server.url)

    found = find(tmp_path, None)

    assert found.origin == "downloaded"
    assert pl.read_parquet(found.path).height == 3
    assert len(server.requests) == 1


def test_a_partial_download_is_resumed(server, tmp_path):
    server.body = uci_archive(quirky_frame().head(3), datetime(2011, 1, 1))
    archive = cached_log_path(tmp_path / "cache", server.url).with_suffix(".zip")
    archive.parent.mkdir(parents=True)
    Path(f"{archive}.part").write_bytes(server.body[:100])

    found = find(tmp_path, server.url)

    assert server.requests == [{"path": "/online+retail+ii.zip", "range": "bytes=100-"}]
    assert archive.read_bytes() == server.body
    assert pl.read_parquet(found.path).height == 3


def test_a_server_ignoring_the_range_gets_a_fresh_download(server, tmp_path):
    server.body = uci_archive(quirky_frame().head(3), datetime(2011, 1, 1))
    server.ranges = False
    archive = cached_log_path(tmp_path / "cache", server.url).with_suffix(".zip")
    archive.parent.mkdir(parents=True)
    Path(f"{archive}.part").write_bytes(b"stale bytes")

    find(tmp_path, server.url)

    assert archive.read_bytes() == server.body


def test_a_response_that_is_not_a_zip_is_refused_and_nothing_is_kept(server, tmp_path):
    server.body = b"<html>maintenance</html>"

    with pytest.raises(DownloadFailed, match="did not return a zip archive"):
        find(tmp_path, server.url)

    assert list((tmp_path / "cache").iterdir()) == []


def test_an_unreachable_server_is_reported_with_the_other_ways_to_give_the_log(tmp_path):
    with pytest.raises(DownloadFailed) as raised:
        find(tmp_path, "http://127.0.0.1:9/x.zip")

    detail = raised.value.detail
    assert detail.startswith("cannot download http://127.0.0.1:9/x.zip")
    assert "--data PATH or OMNIRETAIL_DATA" in detail
    assert f"put it at {tmp_path / SHARED_FILE}" in detail


def test_search_order_given_then_setting_then_beside_the_checkout(tmp_path):
    given = tmp_path / "given.parquet"
    configured = tmp_path / "configured.parquet"
    beside_cwd = tmp_path / "a" / SHARED_FILE
    beside_package = tmp_path / "b" / SHARED_FILE
    for path in (given, configured, beside_cwd, beside_package):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    settings = settings_in(tmp_path).model_copy(update={"data": configured})
    cwd = tmp_path / "a" / "main"
    package_dir = tmp_path / "b" / "main" / "src" / "omniretail"

    assert find(tmp_path, None, explicit=given, settings=settings).path == given
    from_setting = find(tmp_path, None, settings=settings, cwd=cwd)
    assert (from_setting.path, from_setting.origin) == (configured, "OMNIRETAIL_DATA")
    from_cwd = find(tmp_path, None, cwd=cwd, package_dir=package_dir)
    assert (from_cwd.path, from_cwd.origin) == (beside_cwd, "beside the checkout")
    from_package = find(tmp_path, None, package_dir=package_dir)
    assert from_package.path == beside_package


def test_a_given_path_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(DataNotFound, match="the given path names no file"):
        find(tmp_path, None, explicit=tmp_path / "absent.parquet")


def test_a_folder_holding_the_shared_copy_is_taken_for_its_file(tmp_path):
    """``OMNIRETAIL_DATA=/path/to/shared/data`` (the folder the README names) finds the log."""
    folder = tmp_path / SHARED_FILE.parent
    folder.mkdir(parents=True)
    (folder / SHARED_FILE.name).write_bytes(b"")
    settings = settings_in(tmp_path).model_copy(update={"data": folder})

    found = find(tmp_path, None, settings=settings)

    assert (found.path, found.origin) == (folder / SHARED_FILE.name, "OMNIRETAIL_DATA")
    assert find(tmp_path, None, explicit=folder).path == folder / SHARED_FILE.name
    with pytest.raises(
        DataNotFound, match=f"the given path is a folder without {SHARED_FILE.name}"
    ):
        find(tmp_path, None, explicit=tmp_path)


def test_an_archive_without_a_readable_workbook_is_refused_and_dropped(server, tmp_path):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("online_retail_II.xlsx", b"not a workbook")
    server.body = archive.getvalue()

    with pytest.raises(DownloadFailed, match=r"the workbook online_retail_II\.xlsx cannot be read"):
        find(tmp_path, server.url)

    assert list((tmp_path / "cache").iterdir()) == []
