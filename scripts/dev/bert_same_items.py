import sys, torch
sys.path.insert(0, ".")
from tokenizers import Tokenizer
from transformers import BertForMaskedLM
from common import load_f16
torch.set_num_threads(1)
def load(folder):
    tok = Tokenizer.from_file(folder + "/tokenizer.json"); tok.no_truncation()
    return load_f16(BertForMaskedLM, folder), tok
def items(folder):
    return [l.rstrip("\n").split("\t") for l in open(folder + "/heldout.tsv")]
@torch.no_grad()
def acc(model, tok, its):
    t1 = t5 = n = 0
    for text, ans in its:
        if tok.token_to_id(ans) is None: continue
        enc = tok.encode(text); pos = enc.ids.index(4)
        best = [tok.id_to_token(int(i)) for i in model(input_ids=torch.tensor([enc.ids])).logits[0, pos].topk(5).indices]
        t1 += best[0] == ans; t5 += ans in best; n += 1
    return n, t1 / n, t5 / n
old, new = load("/work/main/models/glassbox-bert"), load("/tmp/bert-revocab")
for name, its in [("old items", items("/work/main/models/glassbox-bert")), ("new items", items("/tmp/bert-revocab"))]:
    both = [(t, a) for t, a in its if old[1].token_to_id(a) is not None and new[1].token_to_id(a) is not None]
    print(name, len(its), "answer whole in both vocabularies:", len(both), "old model", acc(*old, both), "new model", acc(*new, both))
