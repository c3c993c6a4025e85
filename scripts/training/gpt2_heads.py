"""Score every glassbox-gpt2 head for the jobs a learner can name, from the committed f16 weights.

    python scripts/training/gpt2_heads.py [FOLDER]      # default models/glassbox-gpt2

The definitions are those of tests/rust/bundled_models.rs, which re-measures them through Glassbox:
- previous-token score: mean attention from each token (from the third on) to the token just
  before it, over the committed held-out sentences;
- induction score: on random whole-word sequences said twice (20 words, 30 trials), mean attention
  from each token of the second copy to the token that followed its first occurrence (the
  "... A B ... A -> look at B" pattern that lets a model continue a repeat);
- first-token score: mean attention to position 0 (<|endoftext|>), where idle heads rest.
Also scores induction on repeats of other shapes (induction_elsewhere), which tells an induction
head from a head that only learned the measured shape's fixed offset, and on short repeats and a
repeat without <|endoftext|> first; how often the model's first guess on a second copy is the
copied token; the greedy continuations that loop (a word trigram comes back) on the Rust test's
twenty prompts; and how much the induction heads lose with a layer-3 head zeroed (ablation).
Prints a table (layer.head, counted from 1 as the page counts) and writes it into the folder's
metrics.json under "heads" (and the loop count under "greedy_loops").
train_gpt2.py calls score_heads() and greedy_loops() on its checkpoints during phases 2 and 3.
"""

import json
import random
import re
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import GPT2LMHeadModel

from common import MODELS, load_f16, setup

OUT = MODELS / "glassbox-gpt2"
SPAN, TRIALS = 20, 30
# The prompts of tests/rust/bundled_models.rs (gpt2_greedy_loops_are_the_ones_on_the_card).
LOOP_PROMPTS = [
    "The cat", "The dog chased", "Once upon a time", "I went to the", "She opened the door and", "The old man",
    "In the morning", "The children played", "My mother said", "The king", "A small bird", "The river",
    "We walked to the", "He was very", "The weather today", "There was a", "The house on the hill", "After dinner",
    "The teacher asked", "It was a cold",
]


def whole_words(tok):
    """Whole-word tokens: a space, then three or more lower-case ASCII letters (as the Rust test)."""
    return sorted(i for t, i in tok.get_vocab().items() if t.startswith("\u0120") and len(t) > 3 and t[1:].isascii() and t[1:].isalpha() and t[1:].islower())


@torch.no_grad()
def score_heads(model, tok, sentences):
    """[layer][head] tables of the previous-token, induction and first-token scores, and the mean
    loss (nats/token) on the second copy of the induction sequences (what an induction head is for:
    without one it stays near the first copy's, about log of the number of whole words)."""
    was_training = model.training
    model.eval()
    L, H = model.config.n_layer, model.config.n_head
    prev, first, n = torch.zeros(L, H), torch.zeros(L, H), 0
    for s in sentences:
        ids = [0] + tok.encode(s, add_special_tokens=False).ids
        if len(ids) < 4:
            continue
        att = model(torch.tensor([ids]), output_attentions=True).attentions  # L x [1][H][T][T]
        rows = torch.arange(2, len(ids))
        for l in range(L):
            prev[l] += att[l][0][:, rows, rows - 1].mean(-1)
            first[l] += att[l][0][:, rows, 0].mean(-1)
        n += 1
    prev /= n
    first /= n
    induction, repeat_loss, copied = score_induction(model, tok)
    model.train(was_training)
    return prev, induction, first, repeat_loss, copied


@torch.no_grad()
def score_induction(model, tok):
    """The [layer][head] induction table on random whole words said twice, the mean loss on their
    second copies (nats/token), and the share of second-copy tokens the model guesses first (what
    the induction heads are for: a large model's are near 1)."""
    L, H = model.config.n_layer, model.config.n_head
    words = whole_words(tok)
    rng = random.Random(0)
    induction, repeat_loss, copied = torch.zeros(L, H), 0.0, 0.0
    for _ in range(TRIALS):
        span = [rng.choice(words) for _ in range(SPAN)]
        x = torch.tensor([[0] + span + span])
        out = model(x, output_attentions=True)
        att = out.attentions
        # Positions 1 + SPAN .. 2 * SPAN - 1 predict the second copy's tokens 2 .. SPAN.
        guesses = out.logits[0, 1 + SPAN:2 * SPAN]
        repeat_loss += torch.nn.functional.cross_entropy(guesses, x[0, 2 + SPAN:]).item() / TRIALS
        copied += (guesses.argmax(-1) == x[0, 2 + SPAN:]).float().mean().item() / TRIALS
        rows = torch.arange(1 + SPAN, 1 + 2 * SPAN)
        for l in range(L):
            induction[l] += att[l][0][:, rows, rows - SPAN + 1].mean(-1)
    return induction / TRIALS, repeat_loss, copied


def other_shapes(words, sentences, rng, tok):
    """induction_elsewhere's shapes: name -> a function giving (the tokens before the span, with
    <|endoftext|> first, and the span said twice after them)."""
    return {
        "10 words": lambda: ([0], [rng.choice(words) for _ in range(10)]),
        "30 words": lambda: ([0], [rng.choice(words) for _ in range(30)]),
        "20 words after a sentence": lambda: ([0] + tok.encode(rng.choice(sentences), add_special_tokens=False).ids, [rng.choice(words) for _ in range(20)]),
        "a sentence": lambda: ([0], tok.encode(rng.choice(sentences), add_special_tokens=False).ids),
    }


def short_and_bare_shapes(words, sentences, rng, tok):
    """Shapes the model card reports beside those: short repeats, and a repeat with no
    <|endoftext|> in front (a text whose special tokens were left out)."""
    return {
        "5 words": lambda: ([0], [rng.choice(words) for _ in range(5)]),
        "6 words": lambda: ([0], [rng.choice(words) for _ in range(6)]),
        "20 words without <|endoftext|> first": lambda: ([], [rng.choice(words) for _ in range(20)]),
    }


@torch.no_grad()
def induction_elsewhere(model, tok, sentences, trials=30, shapes=other_shapes):
    """The induction score (best head) on repeats of other shapes than the measured one: 10 and 30
    random words said twice, 20 random words said twice after a held-out sentence, and a held-out
    sentence said twice. A real induction head scores on all of them; a head that learned the
    measured shape (20 words from position 1) only as a fixed offset does not."""
    was_training = model.training
    model.eval()
    words, rng = whole_words(tok), random.Random(5)
    sentences = [s for s in sentences if s.strip()]
    L, H = model.config.n_layer, model.config.n_head
    scores = {}
    for name, make in shapes(words, sentences, rng, tok).items():
        table = torch.zeros(L, H)
        for _ in range(trials):
            before, span = make()
            ids = before + span + span
            a, n = len(before), len(span)
            att = model(torch.tensor([ids]), output_attentions=True).attentions
            q = torch.arange(a + n, a + 2 * n)
            for l in range(L):
                table[l] += att[l][0][:, q, q - n + 1].mean(-1) / trials
        i = int(table.argmax())
        scores[name] = {"head": f"{i // H + 1}.{i % H + 1}", "induction": round(float(table.max()), 3)}
    model.train(was_training)
    return scores


@torch.no_grad()
def ablation(model, tok, heads=((3, 1), (3, 3), (3, 4))):
    """The best induction score with one head's output zeroed (its slice of the attention output,
    before the output projection), per (layer, head) counted from 1: how much the induction heads
    depend on what that head writes."""
    d_head = model.config.n_embd // model.config.n_head
    scores = {}
    for layer, head in heads:
        def zero(module, args):
            x = args[0].clone()
            x[..., (head - 1) * d_head:head * d_head] = 0
            return (x,)
        hook = model.transformer.h[layer - 1].attn.c_proj.register_forward_pre_hook(zero)
        try:
            induction, repeat_loss, _ = score_induction(model, tok)
        finally:
            hook.remove()
        i = int(induction.argmax())
        scores[f"{layer}.{head}"] = {"best_induction": round(float(induction.max()), 3), "head": f"{i // induction.shape[1] + 1}.{i % induction.shape[1] + 1}", "second_copy_nats_per_token": round(repeat_loss, 3)}
    return scores


def repeated_trigrams(text):
    """(word trigrams that already occurred earlier, all word trigrams), as the Rust test counts."""
    # Words are runs of letters and digits, so a loop joined by hyphens ("new-and-and-and") counts.
    words = [w.lower() for w in re.split(r"[\W_]+", text) if w]
    grams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    return sum(1 for i, g in enumerate(grams) if g in grams[:i]), len(grams)


@torch.no_grad()
def greedy_loops(model, tok, max_new_tokens=40, prompts=LOOP_PROMPTS):
    """How many of `prompts` (LOOP_PROMPTS unless told) loop under greedy decoding, with the continuations."""
    was_training = model.training
    model.eval()
    looping, texts = 0, []
    for p in prompts:
        # After <|endoftext|>, as every training row began (and as the tokenizer's post-processor adds it).
        ids = torch.tensor([[0] + tok.encode(p, add_special_tokens=False).ids])
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=0, eos_token_id=0)
        new = [i for i in out[0, ids.shape[1]:].tolist() if i != 0]
        text = p + tok.decode(new)
        looping += repeated_trigrams(text)[0] > 0
        texts.append(text)
    model.train(was_training)
    return looping, texts


def main():
    setup(0)
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    model = load_f16(GPT2LMHeadModel, folder)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    L, H = model.config.n_layer, model.config.n_head
    sentences = (folder / "heldout.txt").read_text().splitlines()
    prev, induction, first, repeat_loss, copied = score_heads(model, tok, sentences)
    table = []
    for l in range(L):
        for h in range(H):
            table.append({"head": f"{l + 1}.{h + 1}", "previous_token": round(float(prev[l, h]), 3),
                          "induction": round(float(induction[l, h]), 3), "first_token": round(float(first[l, h]), 3)})
    print(f"{'head':>5} {'prev-token':>10} {'induction':>10} {'first-token':>11}")
    for r in table:
        print(f"{r['head']:>5} {r['previous_token']:>10.3f} {r['induction']:>10.3f} {r['first_token']:>11.3f}")
    print(f"loss on the second copy of the induction sequences: {repeat_loss:.3f} nats/token; first guess right: {copied:.3f}")
    elsewhere = induction_elsewhere(model, tok, sentences)
    short = induction_elsewhere(model, tok, sentences, shapes=short_and_bare_shapes)
    for name, r in {**elsewhere, **short}.items():
        print(f"induction on {name} said twice: best head {r['head']} ({r['induction']:.3f})")
    without = ablation(model, tok)
    for name, r in without.items():
        print(f"head {name} zeroed: best induction {r['head']} ({r['best_induction']:.3f}), second-copy loss {r['second_copy_nats_per_token']:.2f}")
    looping, texts = greedy_loops(model, tok)
    for t in texts:
        print(("LOOP " if repeated_trigrams(t)[0] else "     ") + t)
    print(f"greedy continuations that loop: {looping} of {len(LOOP_PROMPTS)}")
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["heads"] = table
    metrics["heads_counted_from"] = 1
    metrics["induction_second_copy_nats_per_token"] = round(repeat_loss, 3)
    metrics["induction_second_copy_first_guess_right"] = round(copied, 3)
    metrics["induction_on_other_repeats"] = elsewhere
    metrics["induction_on_short_and_bare_repeats"] = short
    metrics["induction_with_a_head_zeroed"] = without
    metrics["greedy_loops"] = {"looping": int(looping), "prompts": len(LOOP_PROMPTS), "continuations": texts}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
