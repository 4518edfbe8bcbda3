"""GGUF files from Hugging Face, through huggingface_hub's own cache.

Why `hf_hub_download` and not `Llama.from_pretrained`: the latter lists the repository online before it looks at the
cache, so it fails offline even when the file is there. We ask the cache first (`local_files_only=True`, no network
at all), then the network. huggingface_hub itself honours HF_HOME / HF_HUB_CACHE (where the cache is), HF_HUB_OFFLINE
(never touch the network) and HF_TOKEN (gated and private repos); it reads them when it is imported, so we never pass
`cache_dir` or `token` and never read these variables ourselves.

Interrupted downloads: huggingface_hub retries a dropped connection within the same run and continues from the byte
it reached (HTTP Range, up to 5 times). Since huggingface_hub 1.x a *new* run starts the file again: each download
writes a process-unique `<etag>.<uuid>.incomplete` file (huggingface/huggingface_hub#4196, #4306); with `hf_xet`
installed, chunks already fetched may come from its chunk cache. Nothing half-written is ever taken for the model:
the file is moved into place only when complete.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from arena.config.types import HubSource
from arena.errors import ModelError
from arena.models.progress import ProgressCallback


def describe(source: HubSource) -> str:
    return f"hf:{source.repo}/{source.file}@{source.revision or 'main'}"


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_path(source: HubSource) -> Path | None:
    """The file in the local cache, or None. No network, no side effects."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(source.repo, source.file, revision=source.revision)
    except (ValueError, OSError):  # invalid repo id, unreadable cache
        return None
    return Path(found) if isinstance(found, str) else None


def _progress_tqdm(progress: ProgressCallback, label: str) -> type:
    """A tqdm class that forwards byte counts to `progress` instead of drawing (for the TUI)."""
    from huggingface_hub.utils import tqdm as hf_tqdm

    class _Forward(hf_tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # draw nothing; we count ourselves because a disabled tqdm does not
            super().__init__(*args, **kwargs)
            self._arena_done = int(kwargs.get("initial") or 0)
            self._arena_total = kwargs.get("total")

        def update(self, n: float | None = 1) -> bool | None:
            self._arena_done += int(n or 0)
            total = self._arena_total
            if total:
                progress(min(1.0, self._arena_done / total), f"{label}: {self._arena_done / 1e6:.0f}/{total / 1e6:.0f} MB")
            else:
                progress(0.0, f"{label}: {self._arena_done / 1e6:.0f} MB")
            return super().update(n)

    return _Forward


def download(
    source: HubSource,
    *,
    model_id: str | None = None,
    offline: bool = False,
    progress: ProgressCallback | None = None,
) -> Path:
    """The local path of `source`, from the cache or (unless offline) the network. Raises ModelError with the fix."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub import errors as hf_errors

    what = f"'{source.file}' from Hugging Face repo '{source.repo}'" + (f" (revision {source.revision})" if source.revision else "")
    pull = f"`arena pull {model_id}`" if model_id else "`arena pull MODEL`"
    try:
        return Path(hf_hub_download(source.repo, source.file, revision=source.revision, local_files_only=True))
    except hf_errors.LocalEntryNotFoundError:
        pass  # not cached: go to the network below, unless offline
    except hf_errors.HFValidationError as exc:
        raise ModelError(f"Invalid Hugging Face repo or file name in {what}: {exc}", "fix `repo`/`file` in models.yaml", exit_code=2) from None
    except OSError as exc:
        raise _os_error(exc, what) from None

    if offline or constants.HF_HUB_OFFLINE:
        why = "offline mode is on (HF_HUB_OFFLINE=1)" if constants.HF_HUB_OFFLINE else "--offline was given"
        raise ModelError(
            f"The model file {what} is not in the Hugging Face cache ({cache_dir()}) and {why}",
            f"run {pull} on a machine with network access (then copy the cache, or set HF_HOME to it), "
            "or unset HF_HUB_OFFLINE / drop --offline",
        )

    if not _endpoint_reachable():
        raise _network_error(what, pull)
    tqdm_class = _progress_tqdm(progress, source.file) if progress else None
    try:
        return Path(hf_hub_download(source.repo, source.file, revision=source.revision, tqdm_class=tqdm_class))
    except hf_errors.GatedRepoError:
        raise ModelError(
            f"Downloading {what} was refused: the repo is gated (you must accept its license)",
            f"accept the terms at https://huggingface.co/{source.repo} and set HF_TOKEN to a token of that account "
            "(or run `hf auth login`)",
        ) from None
    except hf_errors.RepositoryNotFoundError:
        raise ModelError(
            f"The Hugging Face repo '{source.repo}' does not exist or is private (while fetching '{source.file}')",
            "check `repo` in models.yaml; for a private repo set HF_TOKEN to a token with read access",
        ) from None
    except hf_errors.RevisionNotFoundError:
        raise ModelError(
            f"The revision '{source.revision}' does not exist in Hugging Face repo '{source.repo}'",
            "fix `revision` in models.yaml, or remove it to use the main branch",
        ) from None
    except (hf_errors.RemoteEntryNotFoundError, hf_errors.EntryNotFoundError) as exc:
        if isinstance(exc, hf_errors.LocalEntryNotFoundError):  # subclass of EntryNotFoundError: network failure
            raise _network_error(what, pull) from None
        raise ModelError(
            f"The file '{source.file}' is not in Hugging Face repo '{source.repo}'",
            f"check `file` in models.yaml against the repo's file list (https://huggingface.co/{source.repo}/tree/main)",
        ) from None
    except hf_errors.OfflineModeIsEnabled:
        raise ModelError(
            f"The model file {what} is not cached and huggingface_hub is in offline mode",
            f"unset HF_HUB_OFFLINE, or run {pull} on a machine with network access",
        ) from None
    except hf_errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise ModelError(
                f"Hugging Face refused access to {what} (HTTP {status})",
                "set HF_TOKEN to a token with read access to the repo (and accept its license on the website if gated)",
            ) from None
        raise ModelError(f"Downloading {what} failed: {exc}", "try again later; the download restarts where safe") from None
    except OSError as exc:
        raise _os_error(exc, what, pull) from None
    except Exception as exc:  # httpx transport errors etc. that huggingface_hub does not wrap
        if type(exc).__module__.startswith(("httpx", "httpcore", "requests", "urllib3", "ssl", "socket")):
            raise _network_error(what, pull) from None
        raise


def _endpoint_reachable(timeout_s: float = 3.0) -> bool:
    """A quick TCP connect to the Hub endpoint. Why: with no network at all, huggingface_hub retries with backoff
    for about 25 s before it gives up; this answers in at most `timeout_s`. Skipped (assumed reachable) when a proxy
    is configured, since then a direct connection says nothing."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(constants.ENDPOINT)
    host = url.hostname
    if not host:
        return True
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _network_error(what: str, pull: str) -> ModelError:
    return ModelError(
        f"Cannot download {what}: the Hugging Face Hub is unreachable and the file is not in the cache ({cache_dir()})",
        f"check the network connection (and HTTPS_PROXY), or run {pull} on a machine with network access and copy the cache",
    )


def _os_error(exc: OSError, what: str, pull: str = "`arena pull MODEL`") -> ModelError:
    if exc.errno == errno.ENOSPC:
        return ModelError(
            f"The disk is full while downloading {what} into {cache_dir()}",
            "free disk space, or set HF_HOME (or HF_HUB_CACHE) to a directory on a larger disk",
        )
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return _network_error(what, pull)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ModelError(
            f"Cannot write the Hugging Face cache {cache_dir()} while fetching {what} ({exc.strerror})",
            "fix the directory's permissions, or set HF_HOME to a writable directory",
        )
    return ModelError(f"Fetching {what} failed: {exc}", f"try {pull} again")
