"""Token arrays for large text files, encoded chunk by chunk into a memory-mapped cache.

A 100 MB corpus would need about 400 MB as a Python ``str`` of wide characters and as much again for
each intermediate array. Here the file is read twice in fixed-size chunks instead: the first pass
counts the symbols (which fixes the vocabulary and the token count), the second appends the ids to a
``.npy`` file. Training opens that file as an ``np.memmap`` and reads the ids through the page cache,
one batch at a time, so memory use stays at one chunk whatever the corpus size.

The cache file is keyed by a hash of the source's content (BLAKE2b, about 1 GB/s, a small cost
next to encoding), the mode and the vocabulary, when one is given: a changed file is encoded afresh
even when an edit kept its size and modification time, and an unchanged one is reused. A cache
entry is checked when it is loaded (its description, its length, every id within the vocabulary)
and rebuilt when anything is wrong. Files are written under a temporary name and renamed, so a
crash never leaves a half-written cache.

The cache is bounded: after writing an entry, the least recently used ones are removed until at
most :data:`MAX_ENTRIES` entries of at most ``$RNNKIT_CACHE_MAX_MB`` megabytes in all (default
:data:`MAX_CACHE_BYTES`) remain, and temporaries older than an hour (a killed encoding) go too.
Deleting the folder (``$RNNKIT_CACHE/tokens``, by default ``~/.cache/rnnkit/tokens``) is always safe.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rnnkit.data.vocab import Vocab, symbol_values
from rnnkit.errors import UsageError

CHUNK_BYTES = 1 << 20   # 1 MiB: small enough that a pass holds a few tens of MB, whatever the file's size
_FORMAT = "rnnkit-tokens"
_VERSION = 2            # 2: keyed by content
MAX_ENTRIES = 32
MAX_CACHE_BYTES = 4 << 30


class EncodedFile(NamedTuple):
    """A text file encoded to ids.

    Attributes:
        vocab: the vocabulary the ids refer to.
        tokens: the ids, shape (n,), a read-only memory map of dtype ``vocab.id_dtype``.
        path: the ``.npy`` cache file holding the ids.
        reused: True when the cache already held this encoding and nothing was encoded.
    """

    vocab: Vocab
    tokens: np.ndarray
    path: Path
    reused: bool


def default_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$RNNKIT_CACHE``, else ``~/.cache/rnnkit``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("RNNKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rnnkit"


def iter_symbol_chunks(path: str | Path, mode: str,
                       chunk_bytes: int = CHUNK_BYTES, digest=None) -> Iterator[np.ndarray]:
    """The file's symbols, chunk by chunk, each of shape (m,) uint32: code points or bytes.

    Character mode decodes UTF-8 incrementally, so a character split across two chunks is whole in
    the second. Undecodable bytes raise UsageError naming their offset and suggesting byte mode.
    ``digest`` (a hashlib object), if given, is updated with the bytes read.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with open(path, "rb") as file:
        while True:
            data = file.read(chunk_bytes)
            if digest is not None:
                digest.update(data)
            if mode == "byte":
                if not data:
                    return
                yield symbol_values(data, "byte")
                continue
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as error:
                position = offset - pending + error.start
                raise UsageError(f"{path} is not UTF-8 text (undecodable byte at offset "
                                 f"{position}); read it as bytes with --byte-mode "
                                 "(mode='byte')") from None
            offset += len(data)
            if text:
                yield symbol_values(text, "char")
            if not data:
                return


def count_symbols(path: str | Path, mode: str, chunk_bytes: int = CHUNK_BYTES, digest=None) -> np.ndarray:
    """How often each symbol value occurs in the file: shape (S,) int64, ``counts[s]`` for value s."""
    counts = np.zeros(256, dtype=np.int64)
    for values in iter_symbol_chunks(path, mode, chunk_bytes, digest):
        chunk_counts = np.bincount(values)
        if chunk_counts.size > counts.size:
            counts = np.pad(counts, (0, chunk_counts.size - counts.size))
        counts[:chunk_counts.size] += chunk_counts
    return counts


def check_regular_file(path: str | Path) -> Path:
    """The resolved path of an existing regular file; UsageError naming the problem otherwise.

    FIFOs, sockets and devices are refused without being opened: opening a FIFO that no one
    writes to blocks forever, and a device can be endless."""
    source = Path(path).expanduser()
    if not source.exists():
        raise UsageError(f"no such file: {source}")
    if source.is_dir():
        raise UsageError(f"{source} is a directory; give a text file")
    if not source.is_file():
        raise UsageError(f"{source} is not a regular file (a FIFO, socket or device); give a text file")
    return source.resolve()


def check_text_file(path: str | Path) -> Path:
    """The resolved path of a readable, non-empty regular file; UsageError naming the problem otherwise."""
    source = check_regular_file(path)
    try:
        size = source.stat().st_size
        with open(source, "rb"):
            pass
    except OSError as error:
        raise UsageError(f"cannot read {source}: {error.strerror}") from None
    if size == 0:
        raise UsageError(f"{source} is empty")
    return source.resolve()


def content_digest(source: Path, chunk_bytes: int = CHUNK_BYTES) -> str:
    """BLAKE2b (128 bits) of the file's bytes, hex."""
    digest = hashlib.blake2b(digest_size=16)
    with open(source, "rb") as file:
        while data := file.read(chunk_bytes):
            digest.update(data)
    return digest.hexdigest()


def _cache_key(content: str, mode: str, vocab: Vocab | None) -> str:
    vocab_json = None if vocab is None else vocab.to_json()
    identity = [_FORMAT, _VERSION, content, mode, vocab_json]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]


def atomic_write(target: Path, write) -> None:
    """Call ``write(temp_path)`` on a fresh temporary name next to ``target``, then rename."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(temp))
        os.chmod(temp, 0o644)   # mkstemp's private 0600 would hide a shared cache from other users
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _load_cached(npy: Path, meta: Path, content: str, mode: str) -> EncodedFile | None:
    """The cached encoding, or None when it is absent, unreadable or damaged (it is then rebuilt):
    its description must name this content and mode, and every id must lie in its vocabulary."""
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if (info.get("format"), info.get("version"), info.get("content"), info.get("mode")) != (
                _FORMAT, _VERSION, content, mode):
            return None
        vocab = Vocab.from_json(info["vocab"])
        tokens = np.load(npy, mmap_mode="r", allow_pickle=False)
        if tokens.shape != (info.get("count"),) or tokens.dtype != vocab.id_dtype:
            return None
        if tokens.size and int(tokens.max()) >= len(vocab):  # ids out of range: a damaged file
            return None
        os.utime(meta)  # recently used: the last to be pruned
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UsageError):
        return None
    return EncodedFile(vocab, tokens, npy, reused=True)


def prune_cache(root: Path, keep: Path | None = None, max_entries: int = MAX_ENTRIES,
                max_bytes: int | None = None) -> list[Path]:
    """Remove the least recently used entries of the token cache folder ``root`` until at most
    ``max_entries`` entries of at most ``max_bytes`` in all remain (``keep`` is never removed),
    and temporaries older than an hour. Returns the removed files."""
    if max_bytes is None:
        try:
            max_bytes = int(os.environ.get("RNNKIT_CACHE_MAX_MB", "")) << 20
        except ValueError:
            max_bytes = MAX_CACHE_BYTES
    removed = []
    now = time.time()
    entries = []
    for meta in root.glob("*.json"):
        npy = meta.with_suffix(".npy")
        try:
            size = meta.stat().st_size + (npy.stat().st_size if npy.exists() else 0)
            entries.append((meta.stat().st_mtime, size, meta, npy))
        except OSError:
            continue
    for temp in root.glob("*.tmp"):
        try:
            if now - temp.stat().st_mtime > 3600:
                temp.unlink()
                removed.append(temp)
        except OSError:
            pass
    entries.sort(reverse=True)  # newest first
    total = 0
    for count, (_, size, meta, npy) in enumerate(entries, start=1):
        total += size
        if npy == keep or (count <= max_entries and total <= max_bytes):
            continue
        for path in (meta, npy):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


def encode_file(path: str | Path, mode: str = "char", *, vocab: Vocab | None = None,
                cache_dir: str | Path | None = None,
                chunk_bytes: int = CHUNK_BYTES) -> EncodedFile:
    """Encode a text file into a memory-mapped id array, reusing an earlier encoding if it is cached.

    Args:
        path: the text file (UTF-8 in char mode; anything in byte mode).
        mode: ``"char"`` or ``"byte"``.
        vocab: encode with this vocabulary (unknown symbols raise UsageError); by default the
            vocabulary is every symbol in the file.
        cache_dir: where cache files go (see :func:`default_cache_dir`).
        chunk_bytes: bytes read at a time; memory use is a small multiple of it.

    Returns:
        an :class:`EncodedFile` whose ``tokens`` has shape (n,), n the number of symbols in the file.
    """
    source = check_text_file(path)
    if vocab is not None and vocab.mode != mode:
        raise UsageError(f"the vocabulary is in {vocab.mode} mode but the file is read in {mode} "
                         "mode")
    root = default_cache_dir(cache_dir) / "tokens"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the cache folder {root}: {error.strerror}; set "
                         "RNNKIT_CACHE to a writable folder") from None
    content = content_digest(source, chunk_bytes)
    key = _cache_key(content, mode, vocab)
    npy = root / f"{source.stem[:40]}-{mode}-{key}.npy"
    meta = npy.with_suffix(".json")
    cached = _load_cached(npy, meta, content, mode)
    if cached is not None:
        return cached

    digest = hashlib.blake2b(digest_size=16)
    counts = count_symbols(source, mode, chunk_bytes, digest)
    if digest.hexdigest() != content:
        raise UsageError(f"{source} changed while it was being encoded; try again")
    total = int(counts.sum())
    if total == 0:
        raise UsageError(f"{source} holds no text")
    if vocab is None:
        vocab = Vocab.from_counts(counts, mode)

    def write_tokens(temp: Path) -> None:
        # Appending chunks to a plain file (rather than filling a writable memmap) leaves the
        # written pages to the OS page cache instead of counting them in this process's memory.
        header = {"descr": np.lib.format.dtype_to_descr(vocab.id_dtype), "fortran_order": False,
                  "shape": (total,)}
        written = 0
        digest = hashlib.blake2b(digest_size=16)
        with open(temp, "wb") as out:
            np.lib.format.write_array_header_1_0(out, header)
            for values in iter_symbol_chunks(source, mode, chunk_bytes, digest):
                out.write(vocab.lookup(values).astype(vocab.id_dtype).tobytes())
                written += values.size
        if written != total or digest.hexdigest() != content:
            raise UsageError(f"{source} changed while it was being encoded; try again")

    def write_meta(temp: Path) -> None:
        info = {"format": _FORMAT, "version": _VERSION, "source": str(source), "content": content,
                "mode": mode, "count": total, "vocab": vocab.to_json()}
        temp.write_text(json.dumps(info), encoding="utf-8")

    # The ids first, the description last: a cache entry counts only once its .json exists.
    atomic_write(npy, write_tokens)
    atomic_write(meta, write_meta)
    prune_cache(root, keep=npy)
    tokens = np.load(npy, mmap_mode="r", allow_pickle=False)
    return EncodedFile(vocab, tokens, npy, reused=False)
