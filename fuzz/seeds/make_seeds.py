#!/usr/bin/env python3
"""Writes the starting corpora of the fuzz targets (fuzz/corpus/<target>/) from the committed fixtures:
small, valid inputs of each kind, so the fuzzer starts from the formats rather than from noise.
Run from the repository root: python3 fuzz/seeds/make_seeds.py  (development only; the corpora are committed)."""
import json, os, struct, hashlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fuzz", "corpus")

def write(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def safetensors(tensors):
    header, blob = {}, b""
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + blob

f32 = lambda *v: struct.pack(f"<{len(v)}f", *v)
write("safetensors", safetensors([("ln_f.weight", "F32", [2], f32(1, 1)), ("ln_f.bias", "F32", [2], f32(0, 0))]))
write("safetensors", safetensors([("wte.weight", "F16", [2, 2], b"\x00\x3c" * 4), ("h.0.ln_1.weight", "BF16", [2], b"\x80\x3f" * 2)]))
write("safetensors", safetensors([("x", "F64", [1], struct.pack("<d", 1e300)), ("y", "I64", [1], struct.pack("<q", 7))]))
write("safetensors", safetensors([]) )
write("safetensors", struct.pack("<Q", 2) + b"{}")

families = ["gpt2", "bert", "t5_tiny", "bart_tiny", "marian_tiny"]
for i, name in enumerate(families):
    cfg = json.load(open(os.path.join(ROOT, "tests/fixtures/models", name, "config.json")))
    write("config", bytes([i]) + json.dumps(cfg, separators=(",", ":")).encode())

def tok(model, normalizer=None, pre=None, post=None, decoder=None, added=()):
    return json.dumps({"version": "1.0", "added_tokens": list(added), "normalizer": normalizer, "pre_tokenizer": pre,
                       "post_processor": post, "decoder": decoder, "model": model}, separators=(",", ":")).encode()

vocab = {"[UNK]": 0, "a": 1, "b": 2, "ab": 3, "c": 4, "Ġ": 5, "Ġa": 6, "##b": 7, "▁": 8, "▁a": 9}
special = {"id": 10, "content": "[CLS]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
write("tokenizer_json", tok({"type": "BPE", "vocab": vocab, "merges": ["a b"], "unk_token": "[UNK]"},
                            pre={"type": "ByteLevel", "add_prefix_space": True, "use_regex": True}, decoder={"type": "ByteLevel"}, added=[special]))
write("tokenizer_json", tok({"type": "WordPiece", "vocab": vocab, "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100},
                            normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
                            pre={"type": "BertPreTokenizer"}, decoder={"type": "WordPiece", "prefix": "##", "cleanup": True},
                            post={"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                                  "pair": [{"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [10], "tokens": ["[CLS]"]}}},
                            added=[special]))
write("tokenizer_json", tok({"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁", -1.0], ["▁a", -2.0], ["a", -3.0], ["b", -3.5]], "byte_fallback": False},
                            normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
                            pre={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}, decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}))
write("tokenizer_json", tok({"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
                            pre={"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": False}, {"type": "Digits", "individual_digits": True}]}))

texts = ["Hello world", "  two  spaces\tand\ttabs", "naïve café 🙂 日本語", "[CLS] <s> </s> <|endoftext|>", "a" * 200, "\u0000\u200b\ufeff"]
for i, t in enumerate(texts):
    write("encode", bytes([i * 37 % 256]) + t.encode())

for pick in range(5):
    ids = [0, 1, 2, 3, 40, 41, 42, 500, 17, 9]
    write("forward", bytes([pick | (0x80 if pick % 2 else 0)]) + b"".join(struct.pack("<H", x) for x in ids))
