"""Two BERT folders' fill-mask accuracy on the same held-out items: those of each folder's heldout.tsv whose
answer is one token in both vocabularies. A new vocabulary brings its own items (a masked word must be one
whole token), so the two models' own figures are not on the same questions; these are.

    python scripts/dev/bert_same_items.py OLD_FOLDER NEW_FOLDER
    # e.g. the bundled BERT before its new vocabulary:
    git worktree add /tmp/before 2881072 && python scripts/dev/bert_same_items.py /tmp/before/models/glassbox-bert models/glassbox-bert

Development-time only: needs torch, transformers and tokenizers (scripts/training/requirements.txt).
"""

import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer
from transformers import BertForMaskedLM

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts/training"))
from common import load_f16  # noqa: E402

MASK_ID = 4  # [MASK] in both bundled vocabularies (train_bert.py's SPECIALS)


def load(folder):
    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_truncation()
    return load_f16(BertForMaskedLM, folder), tok


def items(folder):
    return [line.rstrip("\n").split("\t") for line in open(Path(folder) / "heldout.tsv")]


@torch.no_grad()
def accuracy(model, tok, questions):
    """(top-1, top-5) over `questions`, each (text with [MASK], answer token)."""
    top1 = top5 = 0
    for text, answer in questions:
        ids = tok.encode(text).ids
        best = [tok.id_to_token(int(i)) for i in model(input_ids=torch.tensor([ids])).logits[0, ids.index(MASK_ID)].topk(5).indices]
        top1 += best[0] == answer
        top5 += answer in best
    return top1 / len(questions), top5 / len(questions)


def main():
    torch.set_num_threads(1)
    old_folder, new_folder = sys.argv[1:3]
    old, new = load(old_folder), load(new_folder)
    for name, folder in [("old folder's items", old_folder), ("new folder's items", new_folder)]:
        mine = items(folder)
        both = [(t, a) for t, a in mine if old[1].token_to_id(a) is not None and new[1].token_to_id(a) is not None]
        (o1, o5), (n1, n5) = accuracy(*old, both), accuracy(*new, both)
        print(f"{name}: {len(both)} of {len(mine)} answerable by both; old top-1 {o1:.1%} top-5 {o5:.1%}; new top-1 {n1:.1%} top-5 {n5:.1%}")


if __name__ == "__main__":
    main()
