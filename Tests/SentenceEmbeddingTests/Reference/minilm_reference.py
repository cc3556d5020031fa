#!/usr/bin/env python3
"""A small, plain reference of all-MiniLM-L6-v2 (sentence-transformers) in numpy, for the tests and the
benchmark of the native Swift embedder. It depends on numpy only: the safetensors header is parsed by hand
(8-byte little-endian length, JSON, raw little-endian data) and the tokenizer is the BERT one written out
(the same steps as Hugging Face's BertNormalizer, BertPreTokenizer and WordPiece with tokenizer.json's vocab).

    minilm_reference.py MODEL_DIR embed  < texts.json    -> {"ids": [[...]], "vectors": [[...]]}
    minilm_reference.py MODEL_DIR tokens < texts.json    -> {"ids": [[...]]}
    minilm_reference.py MODEL_DIR time   < texts.json    -> {"seconds": s, "cpu_seconds": c, "tokens": n, "texts": m}

Run it with OPENBLAS_NUM_THREADS=1 (the benchmark does) to measure one thread.
"""
import json
import struct
import sys
import time
import unicodedata

import numpy as np

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---------------------------------------------------------------- tokenizer

def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs" or ch.isspace()


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cn", "Co", "Cs")


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def normalize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_whitespace(ch):
            out.append(" ")
        elif is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.lower()


def pre_tokenize(text):
    words, current = [], []
    for ch in text:
        if is_whitespace(ch):
            if current:
                words.append("".join(current))
                current = []
        elif is_punctuation(ch):
            if current:
                words.append("".join(current))
                current = []
            words.append(ch)
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


class Tokenizer:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        self.vocab = spec["model"]["vocab"]
        self.unk = self.vocab["[UNK]"]
        self.max_chars = spec["model"].get("max_input_chars_per_word", 100)

    def word_pieces(self, word):
        if len(word) > self.max_chars:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            pieces.append(found)
            start = end
        return pieces

    def encode(self, text):
        ids = []
        # Special tokens written in the text are matched before normalisation, as tokenizers' added tokens are.
        rest = text
        while rest:
            hits = [(rest.find(s), s) for s in SPECIAL if rest.find(s) >= 0]
            if not hits:
                segment, special, rest = rest, None, ""
            else:
                at, special = min(hits)
                segment, rest = rest[:at], rest[at + len(special):]
            for word in pre_tokenize(normalize(segment)):
                ids.extend(self.word_pieces(word))
            if special is not None:
                ids.append(self.vocab[special])
        return [self.vocab["[CLS]"]] + ids[:MAX_TOKENS - 2] + [self.vocab["[SEP]"]]


# ---------------------------------------------------------------- model

def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[info["dtype"]]
        tensors[name] = np.frombuffer(raw, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize,
                                      offset=base + start).reshape(info["shape"])
    return tensors


def gelu(x):
    """0.5 x (1 + erf(x / sqrt 2)), the exact GELU, with erf by Abramowitz and Stegun 7.1.26 (absolute error below
    1.5e-7, about float32's resolution; numpy has no erf, and math.erf element by element would dominate the run).
    In float32 and mostly in place: the temporaries of a plain expression made this step a third of the run time."""
    a = np.multiply(x, np.float32(1 / np.sqrt(2.0)))
    sign = np.sign(a)
    np.abs(a, out=a)
    t = np.multiply(a, np.float32(0.3275911))
    t += np.float32(1)
    np.reciprocal(t, out=t)
    p = np.multiply(t, np.float32(1.061405429))
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += np.float32(c)
        p *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    p *= a
    np.subtract(np.float32(1), p, out=p)  # erf(|x| / sqrt 2)
    p *= sign
    p += np.float32(1)
    p *= x
    p *= np.float32(0.5)
    return p


def layer_norm(x, w, b, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class MiniLM:
    def __init__(self, model_dir):
        self.t = load_safetensors(model_dir + "/model.safetensors")
        with open(model_dir + "/config.json") as f:
            self.config = json.load(f)
        self.tokenizer = Tokenizer(model_dir + "/tokenizer.json")

    def w(self, name):
        return self.t[name]

    def forward(self, batch_ids):
        """batch_ids: list of token id lists; padded to the longest, masked like the PyTorch model."""
        heads = self.config["num_attention_heads"]
        hidden = self.config["hidden_size"]
        dh = hidden // heads
        n, length = len(batch_ids), max(len(ids) for ids in batch_ids)
        ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch_ids):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        x = (self.w("embeddings.word_embeddings.weight")[ids] + self.w("embeddings.position_embeddings.weight")[:length][None]
             + self.w("embeddings.token_type_embeddings.weight")[0][None, None])
        x = layer_norm(x, self.w("embeddings.LayerNorm.weight"), self.w("embeddings.LayerNorm.bias"))
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in range(self.config["num_hidden_layers"]):
            p = "encoder.layer.%d." % layer
            lin = lambda v, name: v @ self.w(p + name + ".weight").T + self.w(p + name + ".bias")
            q = lin(x, "attention.self.query").reshape(n, length, heads, dh).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(n, length, heads, dh).transpose(0, 2, 1, 3)
            v = lin(x, "attention.self.value").reshape(n, length, heads, dh).transpose(0, 2, 1, 3)
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(dh)) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, hidden)
            x = layer_norm(lin(context, "attention.output.dense") + x,
                           self.w(p + "attention.output.LayerNorm.weight"), self.w(p + "attention.output.LayerNorm.bias"))
            h = gelu(lin(x, "intermediate.dense"))
            x = layer_norm(lin(h, "output.dense") + x, self.w(p + "output.LayerNorm.weight"), self.w(p + "output.LayerNorm.bias"))
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts, batch_size=16):
        """Like sentence-transformers' encode: sorted by length, batches padded to their longest text. 16 texts a batch
        rather than its 32: a batch of 32 postings makes 50 MB temporaries, which glibc maps and unmaps on every use
        (its mmap threshold stops at 32 MB), and the page faults cost more than the arithmetic."""
        ids = [self.tokenizer.encode(t) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = [None] * len(ids)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            vectors = self.forward([ids[i] for i in chunk])
            for j, i in enumerate(chunk):
                out[i] = vectors[j]
        return ids, out


def main():
    model_dir, mode = sys.argv[1], sys.argv[2]
    texts = json.load(sys.stdin)
    if mode == "tokens":
        tokenizer = Tokenizer(model_dir + "/tokenizer.json")
        json.dump({"ids": [tokenizer.encode(t) for t in texts]}, sys.stdout)
        return
    model = MiniLM(model_dir)
    if mode == "embed":
        ids, vectors = model.embed(texts)
        json.dump({"ids": ids, "vectors": [[round(float(x), 7) for x in v] for v in vectors]}, sys.stdout)
    elif mode == "time":
        model.embed(texts[:8])  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        ids, _ = model.embed(texts)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        json.dump({"seconds": seconds, "cpu_seconds": cpu, "tokens": sum(len(i) for i in ids), "texts": len(texts)}, sys.stdout)
    else:
        sys.exit("mode must be embed, tokens or time")


if __name__ == "__main__":
    main()
