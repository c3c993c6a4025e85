"""Find the glassbox-gpt2 heads worth showing a learner, from the committed f16 weights.

    python scripts/training/gpt2_heads.py

- previous-token score: share of positions whose strongest attention goes to the token just
  before, over held-out sentences;
- induction score: on a held-out sentence repeated twice, share of the second copy's tokens
  whose strongest attention goes to the token that followed their earlier occurrence (the pattern "... A B ... A ->
  look at B" that lets a model continue a repeat);
- first-token score: mean attention to position 0 (<|endoftext|>), the "resting" place.
Prints a table (layer.head, counting from 0) and writes it into metrics.json under "heads".
"""

import json

import torch
from transformers import GPT2LMHeadModel

from common import MODELS, load_f16, setup

OUT = MODELS / "glassbox-gpt2"


@torch.no_grad()
def main():
    setup(0)
    model = load_f16(GPT2LMHeadModel, OUT)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(OUT / "tokenizer.json"))
    sentences = (OUT / "heldout.txt").read_text().splitlines()[:100]
    L, H = model.config.n_layer, model.config.n_head
    prev = torch.zeros(L, H)
    first = torch.zeros(L, H)
    n = 0
    for s in sentences:
        ids = [0] + tok.encode(s).ids
        if len(ids) < 4:
            continue
        att = model(torch.tensor([ids]), output_attentions=True).attentions  # L x [1][H][T][T]
        for l in range(L):
            a = att[l][0]
            T = a.shape[-1]
            # Share of rows whose strongest key is the previous token.
            prev[l] += (a[:, 2:, :].argmax(-1) == torch.arange(1, T - 1)).float().mean(-1)
            first[l] += a[:, 2:, 0].mean(-1)
        n += 1
    prev /= n
    first /= n
    induction = torch.zeros(L, H)
    trials = 20
    used = 0
    for s in sentences:
        seq = tok.encode(s).ids[:30]
        if len(seq) < 8:
            continue
        n = len(seq)
        ids = [0] + seq + seq  # a held-out sentence, repeated
        att = model(torch.tensor([ids]), output_attentions=True).attentions
        for l in range(L):
            a = att[l][0]
            # Token at position n + 1 + i repeats position 1 + i; its "next" was at 2 + i: share of
            # second-copy rows whose strongest key is that next token.
            rows = torch.arange(n + 1, 2 * n)
            induction[l] += (a[:, rows, :].argmax(-1) == rows - n + 1).float().mean(-1)
        used += 1
        if used == trials:
            break
    induction /= trials
    rows = []
    for l in range(L):
        for h in range(H):
            rows.append({"head": f"{l}.{h}", "previous_token": round(float(prev[l, h]), 3), "induction": round(float(induction[l, h]), 3), "first_token": round(float(first[l, h]), 3)})
    print(f"{'head':>5} {'prev-token':>10} {'induction':>10} {'first-token':>11}")
    for r in rows:
        print(f"{r['head']:>5} {r['previous_token']:>10.3f} {r['induction']:>10.3f} {r['first_token']:>11.3f}")
    metrics = json.loads((OUT / "metrics.json").read_text())
    metrics["heads"] = rows
    (OUT / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
