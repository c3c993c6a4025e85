"""Find the glassbox-gpt2 heads worth showing a learner, from the committed f16 weights.

    python scripts/training/gpt2_heads.py

- previous-token score: mean attention from each position to the one just before it, over the
  held-out sentences;
- induction score: on a random token sequence repeated twice, mean attention from each token of
  the second copy to the token that followed its earlier occurrence (the pattern "... A B ... A ->
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
            prev[l] += torch.stack([a[:, t, t - 1] for t in range(2, T)]).mean(0)
            first[l] += a[:, 2:, 0].mean(-1)
        n += 1
    prev /= n
    first /= n
    g = torch.Generator().manual_seed(0)
    induction = torch.zeros(L, H)
    trials = 20
    for _ in range(trials):
        seq = torch.randint(100, model.config.vocab_size, (20,), generator=g).tolist()
        ids = [0] + seq + seq
        att = model(torch.tensor([ids]), output_attentions=True).attentions
        for l in range(L):
            a = att[l][0]
            # Token at position 21 + i repeats position 1 + i; its "next" was at position 2 + i.
            induction[l] += torch.stack([a[:, 21 + i, 2 + i] for i in range(19)]).mean(0)
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
