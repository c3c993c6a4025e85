#!/usr/bin/env python3
"""Which config.json keys does transformers read that Glassbox neither reads nor documents? (development only)

For every model_type Glassbox loads (SUPPORTED_MODEL_TYPES in crate/src/loader/mod.rs) this script gathers the
config keys transformers' own code for that family can see:

  * the fields of its config class (annotated class attributes in 5.x, `__init__` parameters in older
    classes, the aliases of `attribute_map`), following the class's bases into other families' files;
  * every `config.X`, `self.config.X`, `text_config.X`, `getattr(config, "X")` and `hasattr(config, "X")`
    in `models/<family>/modeling_<family>.py`;
  * the same in the shared modules that file imports (`modeling_rope_utils`, `masking_utils`,
    `modeling_layers`, `cache_utils`), kept only where the family's config class defines the key or the
    shared code reads it with a default (a key a config.json may add, such as `head_dim`).

It then takes away the keys that cannot change a forward pass or a greedy continuation (NEUTRAL below, each with
its reason) and the keys Glassbox accounts for: a string literal, a serde field or `rename`/`alias` in the Rust
files that load the family, or a `key` in backticks in the family's sections of docs/config-keys.md and
docs/config-keys-families.md (where the keys honoured, refused and ignored by HF are listed). What is left is
printed per family: each such key must be honoured, refused by name, or documented as not changing the numbers.

    python3 scripts/dev/config_key_audit.py                 # every family, unaccounted keys only
    python3 scripts/dev/config_key_audit.py --family llama  # one family (repeatable)
    python3 scripts/dev/config_key_audit.py --verbose       # also where each key was seen, and what accounts for the rest
    python3 scripts/dev/config_key_audit.py --check         # exit 1 when any key is unaccounted
    python3 scripts/dev/config_key_audit.py --drop-one      # the dynamic check below (needs torch and
                                                            # `cargo build --release --bin glassbox`)

`--drop-one [FIXTURE ...]` checks what the static audit cannot see, the defaults of keys a config.json leaves out: for
each fixture of tests/fixtures/models/ (or those named) and each key of its config.json, it writes the folder without
that key, runs `glassbox inspect` on one text and transformers (eager, float32) on the same ids, and prints every
key whose removal makes the two disagree (logits over 1e-3, or a token classifier's scores), or that Glassbox refuses
while transformers runs with every weight loaded. Removals that make transformers start weights from random numbers
(a size key left out) are skipped: refusing those is right.

Needs python3 with transformers installed (the code it reads is the installed version's; 5.24 at the time of
writing). It reads source only: nothing is imported from transformers' model code and no model is built.
"""

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS_RS = ROOT / "crate" / "src" / "models"
DOCS = [ROOT / "docs" / "config-keys.md", ROOT / "docs" / "config-keys-families.md"]

# model_type -> (transformers folder, Rust files that load it). Files every family shares are added below.
FAMILIES = {
    "gpt2": ("gpt2", ["gpt2.rs"]),
    "gpt_neo": ("gpt_neo", ["gpt2.rs"]),
    "opt": ("opt", ["gpt2.rs"]),
    "bloom": ("bloom", ["bloom.rs"]),
    "gpt_neox": ("gpt_neox", ["gpt_neox.rs", "rotary.rs"]),
    "bert": ("bert", ["bert.rs"]),
    "roberta": ("roberta", ["bert.rs"]),
    "xlm-roberta": ("xlm_roberta", ["bert.rs"]),
    "camembert": ("camembert", ["bert.rs"]),
    "distilbert": ("distilbert", ["bert.rs"]),
    "mpnet": ("mpnet", ["bert.rs"]),
    "electra": ("electra", ["bert.rs"]),
    "t5": ("t5", ["t5.rs", "seq2seq.rs"]),
    "mt5": ("mt5", ["t5.rs", "seq2seq.rs"]),
    "bart": ("bart", ["bart.rs", "seq2seq.rs"]),
    "marian": ("marian", ["bart.rs", "seq2seq.rs"]),
    "mbart": ("mbart", ["bart.rs", "seq2seq.rs"]),
    "pegasus": ("pegasus", ["bart.rs", "seq2seq.rs"]),
    "m2m_100": ("m2m_100", ["bart.rs", "seq2seq.rs"]),
    "llama": ("llama", ["llama.rs", "rotary.rs"]),
    "qwen2": ("qwen2", ["llama.rs", "rotary.rs"]),
    "qwen3": ("qwen3", ["llama.rs", "rotary.rs"]),
    "mistral": ("mistral", ["llama.rs", "rotary.rs"]),
    "gemma": ("gemma", ["llama.rs", "rotary.rs"]),
    "gemma2": ("gemma2", ["llama.rs", "rotary.rs"]),
    "gemma3_text": ("gemma3", ["llama.rs", "rotary.rs"]),
    "gemma3": ("gemma3", ["llama.rs", "rotary.rs"]),
    "granite": ("granite", ["llama.rs", "rotary.rs"]),
    "olmo2": ("olmo2", ["llama.rs", "rotary.rs"]),
    "olmo3": ("olmo3", ["llama.rs", "rotary.rs"]),
    "smollm3": ("smollm3", ["llama.rs", "rotary.rs"]),
    "phi3": ("phi3", ["llama.rs", "rotary.rs"]),
    "stablelm": ("stablelm", ["llama.rs", "rotary.rs", "phi.rs"]),
    "olmo": ("olmo", ["llama.rs", "rotary.rs"]),
    "starcoder2": ("starcoder2", ["llama.rs", "rotary.rs"]),
    "cohere": ("cohere", ["llama.rs", "rotary.rs"]),
    "phi": ("phi", ["phi.rs", "rotary.rs"]),
    "modernbert": ("modernbert", ["modernbert.rs", "rotary.rs"]),
    "albert": ("albert", ["albert.rs"]),
    "deberta-v2": ("deberta_v2", ["deberta.rs"]),
}
SHARED_RS = ["mod.rs", "classifier.rs", "layers.rs", "activations.rs", "decoder_only.rs", "generation_config.rs",
             "family.rs", "attention.rs"]

# Doc sections are found by the model types their headings name; a section that says "as bart" or "every llama
# key above" hands its relatives the rows of the section it builds on.
DOC_PARENT = {
    "mt5": "t5", "marian": "bart", "mbart": "bart", "pegasus": "bart", "m2m_100": "bart",
    "qwen2": "llama", "qwen3": "llama", "mistral": "llama", "gemma": "llama", "gemma2": "llama",
    "gemma3_text": "llama", "gemma3": "gemma3_text", "granite": "llama", "olmo2": "llama", "olmo3": "olmo2",
    "smollm3": "llama", "phi3": "llama", "roberta": "bert", "xlm-roberta": "bert", "camembert": "bert",
    "mpnet": "bert", "electra": "bert", "gpt_neo": "gpt2", "opt": "gpt2", "bloom": "gpt2",
}
# Sections that hold rows for every family (the classification heads, generation).
DOC_SHARED_SECTIONS = ("classification heads", "generation", "shared code")

# Keys that cannot change a forward pass's numbers or a greedy continuation, with the reason.
NEUTRAL = {
    # training only: dropout is off in eval(), layer drop only in train(), initialisation is overwritten by the weights
    **{k: "dropout: off at inference" for k in (
        "attention_dropout", "attention_probs_dropout_prob", "hidden_dropout_prob", "hidden_dropout", "dropout",
        "activation_dropout", "attn_pdrop", "resid_pdrop", "embd_pdrop", "embed_dropout", "classifier_dropout",
        "classifier_dropout_prob", "dropout_rate", "qa_dropout", "seq_classif_dropout", "summary_first_dropout",
        "mlp_dropout", "attention_probs_dropout", "embedding_dropout", "residual_dropout", "classifier_dropout_rate",
        "summary_last_dropout", "emb_dropout", "ffn_dropout", "resid_dropout")},
    **{k: "layer drop: training only" for k in ("encoder_layerdrop", "decoder_layerdrop", "layerdrop")},
    **{k: "initialisation: replaced by the stored weights" for k in (
        "initializer_range", "initializer_factor", "init_std", "initializer_cutoff_factor", "embedding_init_std",
        "init_method", "init_std_range")},
    "gradient_checkpointing": "training only",
    "use_cache": "the cache changes speed, not the numbers",
    "cache_implementation": "the cache changes speed, not the numbers",
    "output_hidden_states": "what is returned, not its values",
    "output_attentions": "what is returned, not its values",
    "return_dict": "what is returned, not its values",
    "torchscript": "export switch",
    "_attn_implementation": "kernel choice (eager/sdpa agree within the contract)",
    "chunk_size_feed_forward": "the feed-forward run in chunks: same numbers",
    "transformers_version": "metadata",
    "architectures": "class choice: read by Glassbox's head selection (classifier.rs), not a number",
    "model_type": "dispatch",
    "name_or_path": "metadata",
    "_name_or_path": "metadata",
    "dtype": "Glassbox computes in f32; the contract is from_pretrained(dtype=float32)",
    "torch_dtype": "Glassbox computes in f32; the contract is from_pretrained(dtype=float32)",
    "label2id": "label metadata (id2label decides the order)",
    "finetuning_task": "pipeline metadata",
    "task_specific_params": "pipeline metadata",
    "prefix": "pipeline metadata",
    "tokenizer_class": "tokenizer choice (crate/src/tokenizer)",
    "bos_token_id": "generation start: read by generation_config.rs for every family",
    "eos_token_id": "generation stop: read by generation_config.rs for every family",
    "sep_token_id": "tokenizer metadata",
    "cls_token_id": "tokenizer metadata",
    "mask_token_id": "tokenizer metadata",
    "unk_token_id": "tokenizer metadata",
    "base_model_tp_plan": "tensor parallel plan",
    "base_model_pp_plan": "pipeline parallel plan",
    "base_model_ep_plan": "expert parallel plan",
    "tp_plan": "tensor parallel plan",
    "keys_to_ignore_at_inference": "what is returned",
    "is_encoder_decoder": "set by the class itself for the classes Glassbox loads",
    "sub_configs": "class structure, not a key",
    "vision_config": "image tower: no image goes in (gemma3 reads text only)",
    "mm_tokens_per_image": "image tokens: no image goes in",
    "boi_token_index": "image tokens: no image goes in",
    "eoi_token_index": "image tokens: no image goes in",
    "image_token_index": "image tokens: no image goes in",
    "image_token_id": "image tokens: no image goes in",
    "pretraining_tp": "4.x sliced the same matmuls (same numbers); 5.x does not read it",
    "summary_type": "double-heads / multiple-choice head only",
    "summary_use_proj": "double-heads / multiple-choice head only",
    "summary_activation": "double-heads / multiple-choice head only",
    "summary_proj_to_labels": "double-heads / multiple-choice head only",
    "num_labels": "read with id2label for a classification head (classifier.rs)",
    "reference_compile": "torch.compile switch",
    "sparse_prediction": "training-only masked-LM shortcut",
    "sparse_pred_ignore_index": "training-only masked-LM shortcut",
    "deterministic_flash_attn": "flash-attention kernel switch",
    "repad_logits_with_grad": "training-only",
    "kv_sharing_modes": "cache bookkeeping",
    "per_layer_config": "not read by the modeling code of any family Glassbox loads",
    "default_theta": "a class attribute (SmolLM3's 2,000,000), not a config.json key; Glassbox uses its value",
    "use_bfloat16": "storage dtype hint; computed in f32",
    "use_return_dict": "what is returned",
    "problem_type": "read by classifier.rs for the page's scores; the logits are the same",
    "gradient_checkpointing_kwargs": "training only",
    "logits_mup_width_multiplier": "multi-token-prediction layers only (modeling_layers), built by none of these classes",
    "unpadded_vocab_size": "multi-token-prediction layers only (modeling_layers), built by none of these classes",
    "mtp_hidden_states_first": "multi-token-prediction layers only (modeling_layers), built by none of these classes",
    "number_of_conv_states": "the generation cache of convolution / linear-attention layers only",
    "_is_quantized": "quantisation bookkeeping",
    "cls_dropout": "dropout: off at inference",
    "pooler_dropout": "dropout: off at inference",
    "boi_token_id": "image tokens (an alias of boi_token_index): no image goes in",
    "eoi_token_id": "image tokens (an alias of eoi_token_index): no image goes in",
    "is_composition": "class structure",
}

# Reads that cannot be keys: methods and internal attributes of the config object, Python builtins.
NOT_KEYS = {"to_dict", "to_json_string", "get_text_config", "__class__", "json", "_attn_implementation_internal",
            "_experts_implementation", "_experts_implementation_internal", "is_heterogeneous", "num_labels_"}

SHARED_PY = {
    "modeling_rope_utils": "modeling_rope_utils.py",
    "masking_utils": "masking_utils.py",
    "modeling_layers": "modeling_layers.py",
    "cache_utils": "cache_utils.py",
}

CONFIG_READ = re.compile(r"\b(\w*config)\.([A-Za-z_]\w*)\b(?!\s*\()")
GETATTR_READ = re.compile(r"\b(?:getattr|hasattr)\(\s*(?:self\.)?(\w*config)\s*,\s*[\"']([A-Za-z_]\w*)[\"']")
GETATTR_DEFAULT = re.compile(r"\bgetattr\(\s*(?:self\.)?\w*config\s*,\s*[\"']([A-Za-z_]\w*)[\"']\s*,")
# Sub-configs of other modalities: their keys are not the language model's.
FOREIGN_PREFIXES = ("vision_config", "audio_config", "encoder_config_vision", "image_config")


def transformers_dir():
    import importlib.util
    spec = importlib.util.find_spec("transformers")
    if spec is None or spec.origin is None:
        sys.exit("transformers is not installed: pip install transformers")
    return Path(spec.origin).parent


def model_type_of(cls):
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "model_type" for t in node.targets):
            if isinstance(node.value, ast.Constant):
                return node.value.value
    return None


def class_keys(cls):
    """Fields, __init__ parameters and attribute_map aliases of one config class body."""
    keys = set()
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if "ClassVar" in ast.unparse(node.annotation):
                continue
            keys.add(node.target.id)
        elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
            keys.update(a.arg for a in node.args.args[1:] + node.args.kwonlyargs)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "attribute_map" for t in node.targets):
            if isinstance(node.value, ast.Dict):
                keys.update(k.value for k in node.value.keys if isinstance(k, ast.Constant))
    return keys


def config_class_keys(tdir, folder, model_type):
    """Keys of the config class whose model_type is `model_type` (its bases' too), from source."""
    path = tdir / "models" / folder / f"configuration_{folder}.py"
    tree = ast.parse(path.read_text())
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    imports = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 2:
            for alias in node.names:
                imports[alias.asname or alias.name] = node.module
    wanted = [c for c in classes.values() if model_type_of(c) == model_type.replace("-", "_")
              or model_type_of(c) == model_type]
    if not wanted:
        wanted = [c for c in classes.values() if c.name.endswith("Config")][:1]
    keys = set()
    for cls in wanted:
        keys |= class_keys(cls)
        for base in cls.bases:
            name = ast.unparse(base)
            if name in classes:
                keys |= class_keys(classes[name])
            elif name in imports and imports[name].startswith(""):
                other = imports[name].split(".")[0]
                other_path = tdir / "models" / other / f"configuration_{other}.py"
                if other_path.exists():
                    other_tree = ast.parse(other_path.read_text())
                    for n in other_tree.body:
                        if isinstance(n, ast.ClassDef) and n.name == name:
                            keys |= class_keys(n)
    return keys - {"kwargs", "self"}


def code_reads(text):
    """(key -> how it was read) for config reads in one Python source."""
    reads = {}
    for m in CONFIG_READ.finditer(text):
        if m.group(1) in FOREIGN_PREFIXES:
            continue
        reads.setdefault(m.group(2), "config." + m.group(2))
    for m in GETATTR_READ.finditer(text):
        if m.group(1) in FOREIGN_PREFIXES:
            continue
        reads.setdefault(m.group(2), f'getattr(config, "{m.group(2)}")')
    return {k: v for k, v in reads.items() if k not in NOT_KEYS and not k.startswith("__")}


def hf_keys(tdir, model_type):
    folder, _ = FAMILIES[model_type]
    hf_type = {"gemma3_text": "gemma3_text", "xlm-roberta": "xlm-roberta", "deberta-v2": "deberta-v2"}.get(model_type, model_type)
    found = {k: "config class" for k in config_class_keys(tdir, folder, hf_type)}
    modeling = tdir / "models" / folder / f"modeling_{folder}.py"
    text = modeling.read_text()
    for key, how in code_reads(text).items():
        found.setdefault(key, f"modeling_{folder}.py: {how}")
    for module, file in SHARED_PY.items():
        if re.search(rf"from \.\.\.{module} import", text):
            shared = (tdir / file).read_text()
            defaulted = set(GETATTR_DEFAULT.findall(shared))
            for key, how in code_reads(shared).items():
                if key in found or key in defaulted:
                    found.setdefault(key, f"{file}: {how}")
    return found


def rust_keys(files):
    keys = set()
    for name in files:
        text = (MODELS_RS / name).read_text()
        keys.update(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', text))
        keys.update(re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?([a-z_][a-z0-9_]*)\s*:\s*[A-Za-z(&\[]", text, re.M))
        keys.update(re.findall(r'(?:rename|alias)\s*=\s*"([^"]+)"', text))
    return keys


def doc_sections():
    """(heading, body) of every ## and ### section of the two docs."""
    sections = []
    for path in DOCS:
        heading, body = "", []
        for line in path.read_text().splitlines():
            if line.startswith("## ") or line.startswith("### "):
                sections.append((heading, "\n".join(body)))
                heading, body = line.lstrip("#").strip(), []
            else:
                body.append(line)
        sections.append((heading, "\n".join(body)))
    return sections


def doc_keys(model_type, sections):
    chain = [model_type]
    while chain[-1] in DOC_PARENT:
        chain.append(DOC_PARENT[chain[-1]])
    keys = set()
    for heading, body in sections:
        words = set(re.findall(r"[a-z0-9_\-]+", heading.lower().replace("`", " ")))
        if any(t in words for t in chain) or any(s in heading.lower() for s in DOC_SHARED_SECTIONS):
            keys.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", heading + "\n" + body))
            keys.update(re.findall(r"`[a-z_]+\.([A-Za-z_][A-Za-z0-9_]*)`", body))
    return keys


def drop_one(only):
    """The dynamic check: one config.json key left out at a time, Glassbox against transformers."""
    import contextlib
    import io
    import json
    import shutil
    import subprocess
    import tempfile

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    glassbox = ROOT / "target" / "release" / "glassbox"
    if not glassbox.exists():
        sys.exit(f"{glassbox} is missing: run `cargo build --release --bin glassbox` first")
    text = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun and nobody knows why."
    never = {"model_type", "architectures", "transformers_version", "dtype", "torch_dtype", "id2label", "label2id"}

    def inspect(folder):
        run = subprocess.run([str(glassbox), "inspect", str(folder), "--text", text], capture_output=True, text=True)
        if run.returncode:
            return None, (run.stderr.strip().splitlines() or ["?"])[-1][:160]
        return json.loads(run.stdout)["cases"][0], None

    def reference(folder, ids, decoder_ids):
        config = transformers.AutoConfig.from_pretrained(folder)
        cls = getattr(transformers, config.architectures[0])
        model, info = cls.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32, output_loading_info=True)
        if info.get("missing_keys") or info.get("mismatched_keys"):
            return None  # transformers starts weights from random numbers: nothing to compare
        kwargs = {"input_ids": torch.tensor([ids])}
        if decoder_ids is not None:
            kwargs["decoder_input_ids"] = torch.tensor([decoder_ids])
        with torch.no_grad():
            return model.eval()(**kwargs).logits[0]

    fixtures = ROOT / "tests" / "fixtures" / "models"
    found = 0
    for src in sorted(fixtures.iterdir()):
        if only and src.name not in only or not (src / "model.safetensors").exists():
            continue
        base = json.loads((src / "config.json").read_text())
        arch = (base.get("architectures") or [""])[0]
        # A sequence head's scores come from one row; compare LM logits and token heads' scores only.
        if not arch or "SequenceClassification" in arch or "QuestionAnswering" in arch:
            continue
        plain, _ = inspect(src)
        if plain is None:
            continue
        for key in sorted(k for k in base if k not in never and base[k] is not None):
            tmp = Path(tempfile.mkdtemp())
            try:
                for f in src.iterdir():
                    if f.name != "config.json":
                        shutil.copy(f, tmp / f.name)
                (tmp / "config.json").write_text(json.dumps({k: v for k, v in base.items() if k != key}))
                case, refused = inspect(tmp)
                ids = (case or plain)["ids"]
                seq2seq = (case or plain).get("encoder_last_hidden_state") is not None
                decoder_ids = (case or plain).get("decoder_ids") if seq2seq else None
                try:
                    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                        want = reference(tmp, ids, decoder_ids)
                except Exception:  # transformers fails without the key: a refusal agrees with it
                    continue
                if want is None:
                    continue
                if case is None:
                    found += 1
                    print(f"{src.name:28s} -{key:32s} Glassbox refuses, transformers runs: {refused}")
                    continue
                got = case.get("class_logits") if "TokenClassification" in arch else case.get("logits")
                if got is None:
                    continue
                got = torch.tensor(got)
                diff = (got - want).abs().max().item() if got.shape == want.shape else float("inf")
                if diff > 1e-3:
                    found += 1
                    print(f"{src.name:28s} -{key:32s} logits differ by {diff:.2e}")
            finally:
                shutil.rmtree(tmp)
    print(f"{found} keys whose absence Glassbox and transformers read differently")
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", action="append", help="a model_type (repeatable); default every supported one")
    ap.add_argument("--verbose", action="store_true", help="also show where each key was seen and what accounts for the others")
    ap.add_argument("--check", action="store_true", help="exit 1 when a key is unaccounted")
    ap.add_argument("--drop-one", nargs="*", metavar="FIXTURE", help="the dynamic check: leave out one key at a time (all fixtures when none named)")
    args = ap.parse_args()
    if args.drop_one is not None:
        sys.exit(1 if drop_one(set(args.drop_one)) and args.check else 0)
    tdir = transformers_dir()
    families = args.family or list(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        sys.exit(f"unknown family {unknown}: choose from {', '.join(FAMILIES)}")
    sections = doc_sections()
    total = 0
    import transformers
    print(f"transformers {transformers.__version__} at {tdir}")
    for family in families:
        seen = hf_keys(tdir, family)
        rust = rust_keys(FAMILIES[family][1] + SHARED_RS)
        docs = doc_keys(family, sections)
        left = sorted(k for k in seen if k not in NEUTRAL and k not in rust and k not in docs)
        total += len(left)
        print(f"\n{family}: {len(seen)} keys seen, {len(left)} unaccounted")
        for key in left:
            print(f"    {key:40s} {seen[key]}")
        if args.verbose:
            for key in sorted(k for k in seen if k not in left):
                why = ("neutral: " + NEUTRAL[key]) if key in NEUTRAL else ("rust" if key in rust else "docs")
                print(f"      ok {key:37s} {why:40s} ({seen[key]})")
    print(f"\n{total} unaccounted keys in {len(families)} families")
    if args.check and total:
        sys.exit(1)


if __name__ == "__main__":
    main()
