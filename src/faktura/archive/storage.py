"""Where archived bytes live. One small protocol, two backends.

Keys are content-addressed (`<tenant>/<sha256[:2]>/<sha256>`): a write that is rolled back
in the database leaves at most an unreferenced object, never a row pointing at nothing,
and writing the same artefact twice is harmless. Both backends refuse to replace an
object with different bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from faktura.settings import Settings


class ObjectMissing(LookupError):
    """No object under this key."""


class ObjectConflict(RuntimeError):
    """An object with other bytes already exists under this key."""


class ObjectStore(Protocol):
    #: Short backend name recorded with each archive entry ("fs", "s3").
    name: str

    async def put(self, key: str, data: bytes, media_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...


def object_key(tenant_id: str, sha256: str) -> str:
    return f"{tenant_id}/{sha256[:2]}/{sha256}"


#: A named temporary file this old was left by a writer that crashed (a write takes
#: milliseconds); the next write into its directory removes it.
STALE_TMP_S = 3600.0


class FilesystemStore:
    """Files under one root directory (the embedded default: `FAKTURA_DATA_DIR/archive`).
    Objects are created exclusively and made read-only.

    An object appears complete or not at all, and a crash mid-write leaves nothing behind:
    where the kernel offers `O_TMPFILE` (Linux on ext4, xfs, btrfs, tmpfs) the bytes go to
    an unnamed file that gets its name only once complete, so there is no temporary file
    to leave. Elsewhere a named temporary file is used, and those that crashed writers left
    are removed by the next write into the same directory."""

    name = "fs"

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad object key {key!r}")
        return self.root / key

    def _put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_unnamed(path.parent)
        if fd is None:
            self._put_named(key, path, data)
            return
        try:
            _write_synced(fd, data)
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                # linkat(AT_SYMLINK_FOLLOW) of the open file: atomic and exclusive
                os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=dir_fd, follow_symlinks=True)
            except FileExistsError:
                _check_same(path, key, data)
            finally:
                os.close(dir_fd)
        finally:
            os.close(fd)

    def _put_named(self, key: str, path: Path, data: bytes) -> None:
        _remove_stale_tmp(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # no live writer has our name: a leftover of a crashed process
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            _write_synced(fd, data)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic and exclusive: never replaces an existing object
        except FileExistsError:
            _check_same(path, key, data)
        finally:
            tmp.unlink()

    def _get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)


def _open_unnamed(directory: Path) -> int | None:
    """An unnamed, read-only file in `directory` open for writing, or None where the
    platform or file system has no `O_TMPFILE`."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o444)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


def _write_synced(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _check_same(path: Path, key: str, data: bytes) -> None:
    if path.read_bytes() != data:
        raise ObjectConflict(key) from None


def _remove_stale_tmp(directory: Path) -> None:
    cutoff = time.time() - STALE_TMP_S
    for entry in os.scandir(directory):
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)


class S3Store:
    """Any S3-compatible object storage (AWS, MinIO, Ceph, ...), through boto3.

    For legal write-once storage, enable S3 Object Lock (compliance mode) on the bucket;
    this class additionally never overwrites: a put of an existing key with other bytes
    raises."""

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def connect(
        cls,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = False,
    ) -> S3Store:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        if create_bucket:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
        return cls(client, bucket)

    def ensure_bucket(self, *, lock_mode: str | None = None, lock_days: int | None = None) -> str:
        """Create the bucket if it is missing, with S3 Object Lock where the server supports
        it, and (with `lock_mode` and `lock_days`) a default retention for every new object:
        the storage itself then refuses to delete or overwrite the archive. Idempotent; says
        what it found or did."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            state = f"bucket {self.bucket} exists"
        except ClientError:
            try:
                self.client.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)
                state = f"bucket {self.bucket} created with Object Lock"
            except ClientError:  # a server without Object Lock: still an archive, locked by us only
                self.client.create_bucket(Bucket=self.bucket)
                state = f"bucket {self.bucket} created (the server does not support Object Lock)"
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
            locked = config.get("ObjectLockEnabled") == "Enabled"
        except ClientError:
            locked = False
        if not locked:
            return state + "; Object Lock is off"
        if lock_mode and lock_days:
            self.client.put_object_lock_configuration(
                Bucket=self.bucket,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": lock_mode, "Days": lock_days}},
                },
            )
            return state + f"; default retention {lock_mode} {lock_days} days"
        return state + "; Object Lock is on"

    def _put(self, key: str, data: bytes, media_type: str) -> None:
        try:
            existing = self._get(key)
        except ObjectMissing:
            existing = None
        if existing is not None:
            if existing != data:
                raise ObjectConflict(key)
            return
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType=media_type,
            ChecksumSHA256=_b64(hashlib.sha256(data).digest()),
            # Object Lock buckets refuse a PUT without Content-MD5 (S3, MinIO): send it always.
            ContentMD5=_b64(hashlib.md5(data, usedforsecurity=False).digest()),
        )

    def _get(self, key: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except self.client.exceptions.NoSuchKey:
            raise ObjectMissing(key) from None
        return obj["Body"].read()  # type: ignore[no-any-return]

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(self._put, key, data, media_type)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


_STORES: dict[tuple[Any, ...], ObjectStore] = {}
_STORES_LOCK = threading.Lock()


def open_store(settings: Settings) -> ObjectStore:
    """The configured backend; one instance per configuration and process."""
    if settings.archive_backend == "fs":
        ident: tuple[Any, ...] = ("fs", str(settings.data_dir.resolve()))
    elif settings.archive_backend == "s3":
        ident = (
            "s3",
            settings.s3_endpoint_url,
            settings.s3_bucket,
            settings.s3_region,
            settings.s3_access_key_id,
        )
    else:
        raise ValueError(f"unknown archive backend {settings.archive_backend!r} (fs or s3)")
    with _STORES_LOCK:
        store = _STORES.get(ident)
        if store is None:
            if ident[0] == "fs":
                store = FilesystemStore(settings.data_dir / "archive")
            else:
                store = S3Store.connect(
                    bucket=settings.s3_bucket,
                    endpoint_url=settings.s3_endpoint_url,
                    region=settings.s3_region,
                    access_key_id=settings.s3_access_key_id,
                    secret_access_key=settings.s3_secret_access_key,
                )
            _STORES[ident] = store
        return store
