#!/usr/bin/env python3
"""Cross-check `glassbox inspect` against Hugging Face `transformers` on freshly made random models
whose configs no fixture uses (odd head counts, other activations, untied T5, scaled BART, ReLU Marian).

Development only (needs torch + transformers); run from the repository root after `cargo build --release`:
    python3 -P scripts/dev/crosscheck_models.py
Prints the largest absolute difference per field; attention should stay below 1e-4 and
hidden states / logits below 1e-3. Models are written under /tmp/mc/.
"""
import json, subprocess, sys, os, shutil, torch, numpy as np
torch.manual_seed(0); torch.set_num_threads(1)
from transformers import (GPT2Config, GPT2LMHeadModel, BertConfig, BertForMaskedLM, T5Config, T5ForConditionalGeneration,
  BartConfig, BartForConditionalGeneration, MarianConfig, MarianMTModel, AutoTokenizer, PreTrainedTokenizerFast)
F="tests/fixtures/models"
def perturb(m):
    with torch.no_grad():
        for n,p in m.named_parameters():
            # Marian's sinusoidal table is computed, never loaded, so it must stay the true sinusoid.
            if "embed_positions" not in n or "marian" not in type(m).__name__.lower():
                p.add_(torch.randn_like(p) * 0.3)
def run(name, model, tokdir, texts, dec=None):
    d=f"/tmp/mc/{name}"; shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
    model.eval(); model.save_pretrained(d)
    for f in ["tokenizer.json","tokenizer_config.json","special_tokens_map.json"]:
        if os.path.exists(f"{tokdir}/{f}"): shutil.copy(f"{tokdir}/{f}", d)
    tok = PreTrainedTokenizerFast(tokenizer_file=f"{d}/tokenizer.json")
    args=["target/release/glassbox","inspect",d]
    for t in texts: args+=["--text",t]
    if dec: args+=["--decoder-ids", ",".join(map(str,dec))]
    r=subprocess.run(args,capture_output=True,text=True)
    if r.returncode: print(name,"CLI ERROR",r.stderr); return
    out=json.loads(r.stdout)
    for t,case in zip(texts,out["cases"]):
        ids=torch.tensor([case["ids"]])
        with torch.no_grad():
            if model.config.is_encoder_decoder:
                di=torch.tensor([case["decoder_ids"]])
                o=model(input_ids=ids, decoder_input_ids=di, output_attentions=True, output_hidden_states=True)
                pairs=[("encoder",o.encoder_attentions),("decoder",o.decoder_attentions),("cross",o.cross_attentions)]
                hid=o.decoder_hidden_states[-1]
            else:
                o=model(input_ids=ids, output_attentions=True, output_hidden_states=True)
                pairs=[("decoder" if "gpt" in name else "encoder", o.attentions)]
                hid=o.hidden_states[-1]
        err={}
        for k,a in pairs:
            err["att_"+k]=float(np.abs(np.array(case["attentions"][k])-torch.stack(a)[:,0].numpy()).max())
        err["logits"]=float(np.abs(np.array(case["logits"])-o.logits[0].numpy()).max())
        if "t5" not in name: err["hidden"]=float(np.abs(np.array(case["last_hidden_state"])-hid[0].numpy()).max())
        print(name, repr(t)[:30], {k:f"{v:.1e}" for k,v in err.items()})
os.makedirs("/tmp/mc",exist_ok=True)
texts=["The quick brown fox jumps over the lazy dog.","A"]
g=GPT2LMHeadModel(GPT2Config(vocab_size=600,n_positions=40,n_embd=48,n_layer=3,n_head=3,attn_implementation="eager")); perturb(g)
run("gpt2_new", g, f"{F}/gpt2", texts)
b=BertForMaskedLM(BertConfig(vocab_size=600,hidden_size=48,num_hidden_layers=2,num_attention_heads=6,intermediate_size=80,max_position_embeddings=40,hidden_act="gelu_new",attn_implementation="eager")); perturb(b)
run("bert_new", b, f"{F}/bert", texts)
t=T5ForConditionalGeneration(T5Config(vocab_size=600,d_model=40,d_kv=10,d_ff=72,num_layers=2,num_decoder_layers=2,num_heads=5,relative_attention_num_buckets=8,relative_attention_max_distance=20,feed_forward_proj="gated-gelu",tie_word_embeddings=True,decoder_start_token_id=0,attn_implementation="eager")); perturb(t)
run("t5_new", t, f"{F}/t5_tiny", texts, dec=[0,5,9,22])
ba=BartForConditionalGeneration(BartConfig(vocab_size=600,d_model=40,encoder_layers=2,decoder_layers=1,encoder_attention_heads=4,decoder_attention_heads=5,encoder_ffn_dim=64,decoder_ffn_dim=48,max_position_embeddings=40,scale_embedding=True,attn_implementation="eager")); perturb(ba)
run("bart_new", ba, f"{F}/bart_tiny", texts, dec=[2,0,7])
ma=MarianMTModel(MarianConfig(vocab_size=600,d_model=40,encoder_layers=1,decoder_layers=2,encoder_attention_heads=4,decoder_attention_heads=4,encoder_ffn_dim=64,decoder_ffn_dim=64,max_position_embeddings=40,activation_function="relu",pad_token_id=599,decoder_start_token_id=599,eos_token_id=1,attn_implementation="eager")); perturb(ma)
run("marian_new", ma, f"{F}/marian_tiny", texts)
