"""Data for character-level models: vocabularies, corpora, cached token arrays, TBPTT streams.

NumPy and the standard library only. Typical use::

    corpus = load_corpus("stdlib")              # or "kjv", "sparv", or a path; mode="byte"
    corpus.check_length(batch=32, seq_len=64)
    stream = TBPTTStream(corpus.train, batch=32, seq_len=64)
    x, y = stream.next_batch()                  # (32, 64) ids each, y = x shifted by one
"""

from rnnkit.data.corpora import CORPORA, STDLIB_CHARS, Corpus, load_corpus, stdlib_text
from rnnkit.data.streams import TBPTTStream, iter_eval_batches
from rnnkit.data.sword import clean_osis, iter_ztext, read_ztext
from rnnkit.data.tokens import EncodedFile, default_cache_dir, encode_file
from rnnkit.data.versification import KJV
from rnnkit.data.vocab import MODES, Vocab, id_dtype

__all__ = [
    "CORPORA", "Corpus", "EncodedFile", "KJV", "MODES", "STDLIB_CHARS", "TBPTTStream", "Vocab",
    "clean_osis", "default_cache_dir", "encode_file", "id_dtype", "iter_eval_batches",
    "iter_ztext", "load_corpus", "read_ztext", "stdlib_text",
]
