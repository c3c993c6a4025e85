"""Score every glassbox-gpt2 head for the jobs a learner can name, from the committed f16 weights.

    python scripts/training/gpt2_heads.py

The definitions are those of tests/rust/bundled_models.rs, which re-measures them through Glassbox:
- previous-token score: mean attention from each token (from the third on) to the token just
  before it, over the committed held-out sentences;
- induction score: on random whole-word sequences said twice (20 words, 30 trials), mean attention
  from each token of the second copy to the token that followed its first occurrence (the
  "... A B ... A -> look at B" pattern that lets a model continue a repeat);
- first-token score: mean attention to position 0 (<|endoftext|>), where idle heads rest.
Prints a table (layer.head, counted from 1 as the page counts) and writes it into metrics.json
under "heads".
"""

import json
import random

import torch
from tokenizers import Tokenizer
from transformers import GPT2LMHeadModel

from common import MODELS, load_f16, setup

OUT = MODELS / "glassbox-gpt2"
SPAN, TRIALS = 20, 30


@torch.no_grad()
def main():
    setup(0)
    model = load_f16(GPT2LMHeadModel, OUT)
    tok = Tokenizer.from_file(str(OUT / "tokenizer.json"))
    L, H = model.config.n_layer, model.config.n_head
    prev, first, n = torch.zeros(L, H), torch.zeros(L, H), 0
    for s in (OUT / "heldout.txt").read_text().splitlines():
        ids = [0] + tok.encode(s).ids
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
    words = sorted(i for t, i in tok.get_vocab().items() if t.startswith("\u0120") and len(t) > 3 and t[1:].isascii() and t[1:].isalpha() and t[1:].islower())
    rng = random.Random(0)
    induction = torch.zeros(L, H)
    for _ in range(TRIALS):
        span = [rng.choice(words) for _ in range(SPAN)]
        att = model(torch.tensor([[0] + span + span]), output_attentions=True).attentions
        rows = torch.arange(1 + SPAN, 1 + 2 * SPAN)
        for l in range(L):
            induction[l] += att[l][0][:, rows, rows - SPAN + 1].mean(-1)
    induction /= TRIALS
    table = []
    for l in range(L):
        for h in range(H):
            table.append({"head": f"{l + 1}.{h + 1}", "previous_token": round(float(prev[l, h]), 3),
                          "induction": round(float(induction[l, h]), 3), "first_token": round(float(first[l, h]), 3)})
    print(f"{'head':>5} {'prev-token':>10} {'induction':>10} {'first-token':>11}")
    for r in table:
        print(f"{r['head']:>5} {r['previous_token']:>10.3f} {r['induction']:>10.3f} {r['first_token']:>11.3f}")
    metrics = json.loads((OUT / "metrics.json").read_text())
    metrics["heads"] = table
    metrics["heads_counted_from"] = 1
    (OUT / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
