//! Folders whose tokenizer is saved only in its slow form, as many older checkpoints on the hub
//! are: BERT's `vocab.txt`, GPT-2's and RoBERTa's `vocab.json` + `merges.txt`, no tokenizer.json.
//!
//! transformers 5 builds such a tokenizer from the files by its class (`BertTokenizer`,
//! `GPT2Tokenizer`, `RobertaTokenizer`, `MPNetTokenizer`): the class, not any file, decides the
//! normaliser, pre-tokenizer, template and decoder. Glassbox already rebuilds those pipelines for
//! the same classes when a tokenizer.json is there (`TransformersConfig::class_rebuild`), so
//! [`tokenizer_json`] only writes the files' vocabulary (and merges) out as a tokenizer.json with no
//! pipeline and a `slow_files` mark; `Tokenizer::for_model` then requires a class that supplies the
//! whole pipeline (else [`unbuildable`]), and for GPT2Tokenizer makes the template transformers'
//! `update_post_processor` makes (bos / eos only when `add_bos_token` / `add_eos_token` ask).
//!
//! ```text
//! vocab.txt                -> WordPiece: token = line, id = line number (a later duplicate wins)
//! vocab.json + merges.txt  -> BPE: merges in file order, "#version" lines skipped
//! ```

use super::json;
use crate::error::{Error, Result};
use crate::loader::parse_json;
use std::collections::HashMap;

/// A folder's slow tokenizer files: `vocab.txt` (WordPiece), or `vocab.json` with `merges.txt` (BPE).
pub struct SlowFiles<'a> {
    pub vocab_txt: Option<&'a [u8]>,
    pub vocab_json: Option<&'a [u8]>,
    pub merges_txt: Option<&'a [u8]>,
}

const FIX: &str = "Write the fast tokenizer's file: in Python, AutoTokenizer.from_pretrained(folder).save_pretrained(folder) adds tokenizer.json";

/// The refusal of `files` (as `slow_files` names them) under a class that does not build its whole
/// pipeline from them (`class`: the one `AutoTokenizer` would load, `None` the generic one).
pub fn unbuildable(files: &str, class: Option<&str>) -> Error {
    Error::file(
        files,
        format!("are a slow tokenizer's files, and this folder's tokenizer class ({}) is not one Glassbox builds from them (BertTokenizer, MPNetTokenizer, GPT2Tokenizer, RobertaTokenizer)", class.unwrap_or("the generic one")),
        FIX,
    )
}

/// The lines of a text file named `file` ("\n" ends a line, as Python's `readlines` and `tokenizers` split them).
fn lines<'a>(file: &str, bytes: &'a [u8]) -> Result<std::str::SplitTerminator<'a, char>> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::file(file, format!("is not UTF-8 text ({e})"), "Use the file saved with the checkpoint"))?;
    Ok(text.split_terminator('\n'))
}

/// A JSON string (serde_json's escaping, the code the other converters' output uses too).
fn push_str(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The files written out as a tokenizer.json with no pipeline of its own (see the module doc).
pub fn tokenizer_json(files: &SlowFiles) -> Result<Vec<u8>> {
    let (name, mut out) = match files {
        SlowFiles { vocab_txt: Some(_), .. } => ("vocab.txt", br###"{"slow_files":"vocab.txt","model":{"type":"WordPiece","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{"###.to_vec()),
        SlowFiles { vocab_json: Some(_), merges_txt: Some(_), .. } => ("vocab.json and merges.txt", br#"{"slow_files":"vocab.json and merges.txt","model":{"type":"BPE","vocab":{"#.to_vec()),
        _ => return Err(Error::input("no slow tokenizer's files were given", "Pass vocab.txt, or vocab.json with merges.txt")),
    };
    let mut entries = 0;
    let mut entry = |out: &mut Vec<u8>, token: &str, id: u32| {
        if entries > 0 {
            out.push(b',');
        }
        entries += 1;
        push_str(out, token);
        out.extend_from_slice(format!(":{id}").as_bytes());
    };
    if let Some(txt) = files.vocab_txt {
        // A token listed twice is written twice: reading the object back, the later line wins, as
        // in the Python dict transformers fills.
        for (id, token) in lines("vocab.txt", txt)?.enumerate() {
            crate::loader::limits::check_piece("vocab.txt", token)?;
            entry(&mut out, token, id as u32);
        }
        out.extend_from_slice(b"}");
    } else if let (Some(vocab), Some(merges)) = (files.vocab_json, files.merges_txt) {
        let vocab: HashMap<String, u32> = parse_json("vocab.json", vocab)?;
        json::reverse_vocab(&vocab, "vocab.json")?;
        for (token, &id) in &vocab {
            entry(&mut out, token, id);
        }
        out.extend_from_slice(br#"},"merges":["#);
        let mut first = true;
        for (n, line) in lines("merges.txt", merges)?.enumerate() {
            if line.starts_with("#version") {
                continue;
            }
            if line.split(' ').count() != 2 {
                return Err(Error::file("merges.txt", format!("line {} ({:?}) is not two pieces joined by one space", n + 1, line.chars().take(60).collect::<String>()), "Use the merges.txt saved with the checkpoint"));
            }
            if !first {
                out.push(b',');
            }
            first = false;
            push_str(&mut out, line);
        }
        out.push(b']');
    }
    if entries == 0 {
        return Err(Error::file(name, "holds no tokens", "Use the vocabulary saved with the checkpoint"));
    }
    out.extend_from_slice(b"}}");
    Ok(out)
}
