"""Finding the transaction log the demo imports, downloading the public original if need be.

Search order: the path given, ``OMNIRETAIL_DATA``, ``../shared/data/<file>`` beside the
checkout (from the working directory, then from the installed package's source tree upwards),
and finally the UCI "Online Retail II" archive (``OMNIRETAIL_DATA_URL`` overrides its address),
downloaded once into the cache directory and converted to parquet once.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
from fastexcel import FastExcelError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from omniretail.demo.errors import DataNotFound, DownloadFailed
from omniretail.history.errors import InvalidHistoryFile
from omniretail.history.service import read_workbook
from omniretail.settings import Settings

UCI_URL = "https://archive.ics.uci.edu/static/public/502/online+retail+ii.zip"
SHARED_FILE = Path("shared") / "data" / "online_retail_ii_2009_2010.parquet"
CHUNK_BYTES = 1 << 16


class DataSourceSettings(BaseSettings):
    """Where the public original is downloaded from (``OMNIRETAIL_DATA_URL``)."""

    model_config = SettingsConfigDict(env_prefix="OMNIRETAIL_", extra="ignore")

    data_url: str = UCI_URL


@dataclass(frozen=True)
class FoundLog:
    path: Path
    origin: str  # given | OMNIRETAIL_DATA | beside the checkout | downloaded | cached download


def find_transaction_log(
    explicit: Path | None,
    settings: Settings,
    *,
    url: str | None = None,
    cwd: Path | None = None,
    package_dir: Path | None = None,
    console: Console | None = None,
) -> FoundLog:
    if explicit is not None:
        return FoundLog(_existing(explicit, "the given path"), "given")
    if settings.data is not None:
        return FoundLog(_existing(settings.data, "OMNIRETAIL_DATA"), "OMNIRETAIL_DATA")
    beside = shared_candidates(cwd or Path.cwd(), package_dir or Path(__file__).resolve().parent)
    for candidate in beside:
        if candidate.is_file():
            return FoundLog(candidate.resolve(), "beside the checkout")
    source = url or DataSourceSettings().data_url
    converted = cached_log_path(settings.resolved_cache_dir(), source)
    if converted.is_file():
        return FoundLog(converted, "cached download")
    try:
        downloaded = download_log(
            source, settings.resolved_cache_dir(), console=console or Console()
        )
    except DownloadFailed as exc:  # say where else the log can come from
        raise DownloadFailed(
            f"{exc.detail}. With no internet, give a copy of the log with --data PATH or"
            f" OMNIRETAIL_DATA, or put it at {beside[0]}",
            field="url",
        ) from exc
    return FoundLog(downloaded, "downloaded")


def shared_candidates(cwd: Path, package_dir: Path) -> list[Path]:
    """``../shared/data/<file>`` from the working directory, then from the package directory
    and each of its parents (an editable install's source checkout)."""
    candidates = [cwd.parent / SHARED_FILE]
    candidates += [
        ancestor.parent / SHARED_FILE for ancestor in [package_dir, *package_dir.parents]
    ]
    return list(dict.fromkeys(candidates))


def cached_log_path(cache_dir: Path, url: str) -> Path:
    """The converted parquet for ``url`` (named by the URL, so another source never reuses
    it)."""
    return cache_dir / f"online_retail_ii-{_url_key(url)}.parquet"


def download_log(url: str, cache_dir: Path, *, console: Console) -> Path:
    """Downloads the zip (resuming a partial download), checks it, converts its workbook."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / f"online_retail_ii-{_url_key(url)}.zip"
    if not zipfile.is_zipfile(archive):
        download(url, archive, console=console)
    target = cached_log_path(cache_dir, url)
    convert_archive(archive, target, console=console)
    return target


def download(url: str, target: Path, *, console: Console) -> None:
    """Streams ``url`` to ``target.part`` with a progress bar, then renames it: ``target``
    exists only complete and verified as a zip. A ``.part`` left by an interrupted run is
    resumed with a Range request when the server supports it."""
    part = target.with_name(target.name + ".part")
    try:
        _fetch(url, part, console=console)
    except httpx.HTTPError as exc:
        raise DownloadFailed(f"cannot download {url}: {exc}", field="url") from exc
    if not zipfile.is_zipfile(part):
        part.unlink()
        raise DownloadFailed(f"{url} did not return a zip archive", field="url")
    os.replace(part, target)


def _fetch(url: str, part: Path, *, console: Console) -> None:
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    timeout = httpx.Timeout(30.0, read=120.0)
    with (
        httpx.Client(follow_redirects=True, timeout=timeout) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        stale = offset > 0 and response.status_code == 416
        if not stale:
            response.raise_for_status()
            _save(response, part, offset if response.status_code == 206 else 0, console)
    if stale:  # the partial file does not fit what the server has now: start again
        part.unlink()
        _fetch(url, part, console=console)


def _save(response: httpx.Response, part: Path, offset: int, console: Console) -> None:
    length = response.headers.get("content-length")
    total = int(length) + offset if length and length.isdigit() else None
    with (
        part.open("ab" if offset else "wb") as out,
        Progress(
            TextColumn("[bold]download[/] {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        ) as progress,
    ):
        name = str(response.url).rsplit("/", 1)[-1]
        task = progress.add_task(name, total=total, completed=offset)
        for chunk in response.iter_bytes(CHUNK_BYTES):
            out.write(chunk)
            progress.advance(task, len(chunk))


def convert_archive(archive: Path, target: Path, *, console: Console) -> None:
    """The workbook inside the zip (all sheets) as one parquet in the shared file's layout."""
    with zipfile.ZipFile(archive) as bundle:
        workbooks = [n for n in bundle.namelist() if n.lower().endswith((".xlsx", ".xlsm"))]
        if not workbooks:
            raise DownloadFailed(f"{archive.name} holds no .xlsx workbook", field="url")
        content = bundle.read(workbooks[0])
    with Progress(
        SpinnerColumn(),
        TextColumn("converting {task.description} to parquet"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        progress.add_task(workbooks[0], total=None)
        try:
            frame = read_workbook(content)
        except (FastExcelError, pl.exceptions.PolarsError, InvalidHistoryFile) as exc:
            archive.unlink()  # fetch it afresh next time
            raise DownloadFailed(
                f"{archive.name}: the workbook {workbooks[0]} cannot be read: {exc}", field="url"
            ) from exc
        partial = target.with_name(target.name + ".part")
        frame.write_parquet(partial, compression="zstd")
        os.replace(partial, target)


def _existing(path: Path, what: str) -> Path:
    if path.is_dir() and (path / SHARED_FILE.name).is_file():  # the folder of the shared copy
        return path / SHARED_FILE.name
    if path.is_dir():
        raise DataNotFound(f"{what} is a folder without {SHARED_FILE.name}: {path}", field="data")
    if not path.is_file():
        raise DataNotFound(f"{what} names no file: {path}", field="data")
    return path


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:12]
