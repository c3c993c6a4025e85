//! What a model folder without `model.safetensors` or `tokenizer.json` holds instead, so the refusal
//! can say what to do.
//!
//! Glassbox reads safetensors: one model.safetensors, or the shards of a sharded checkpoint with
//! their `model.safetensors.index.json` (`super::shards`). Folders people bring also come as shards
//! without their index, as PyTorch pickles (`pytorch_model.bin`), as TensorFlow or Flax weights, or as a PEFT adapter. And
//! Glassbox reads a fast tokenizer's `tokenizer.json`, where older folders hold only the files of a
//! slow one (`vocab.txt`, `vocab.json` and `merges.txt`, a SentencePiece model).
//! The CLI and the page both look at the folder's file names through these functions.

/// Why a folder lacks `model.safetensors` or `tokenizer.json`, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderHint {
    pub problem: String,
    pub fix: &'static str,
}

/// `names`: the file names of the folder (or of the files the user chose). `None` when nothing
/// recognisable stands in for `model.safetensors` (the plain "missing" message then applies).
/// Kept small: the page's wasm carries it (a first version with iterator chains cost 5 KB).
pub fn other_weight_files(names: &[&str]) -> Option<FolderHint> {
    let (mut index, mut shards, mut pickle, mut other_format, mut single, mut safetensors) = (false, 0, None, None, None, 0);
    for &name in names {
        match name {
            "adapter_config.json" | "adapter_model.safetensors" => {
                return Some(FolderHint {
                    problem: "the folder holds a PEFT adapter (adapter_config.json), a small set of changes to a base model, not a whole model".into(),
                    fix: "Merge the adapter into its base model (peft's merge_and_unload()) and save the result with save_pretrained(folder)",
                })
            }
            "model.safetensors.index.json" => index = true,
            "pytorch_model.bin.index.json" => pickle = pickle.or(Some(name)),
            _ => {}
        }
        if name.ends_with(".safetensors") {
            safetensors += 1;
            single = Some(name);
            shards += name.contains("-of-") as usize;
        }
        // Not every .bin is weights (the trainer leaves training_args.bin beside them).
        if (name.starts_with("pytorch_model") && name.ends_with(".bin")) || name.ends_with(".pt") || name.ends_with(".pth") {
            pickle = Some(name);
        }
        if name.ends_with(".h5") || name.ends_with(".msgpack") {
            other_format = Some(name);
        }
    }
    let hint = |problem: String, fix| Some(FolderHint { problem, fix });
    // With the index there, the shards are read (`super::shards`); without it, which shard holds
    // which tensor is unknown.
    if index {
        return None;
    }
    if shards > 0 {
        return hint(
            format!("the folder holds {shards} shard files of a sharded checkpoint but not model.safetensors.index.json, which says which tensors each holds"),
            "Copy model.safetensors.index.json from where the shards came from (save_pretrained writes it beside them)",
        );
    }
    if let Some(name) = pickle {
        return hint(
            format!("the folder holds PyTorch pickle weights ({name}), which Glassbox does not open: unpickling a file can run any code in it"),
            "Convert them to safetensors: load the model with transformers and save it again with save_pretrained(folder), which writes safetensors by default",
        );
    }
    if let Some(name) = other_format {
        return hint(
            format!("the folder holds TensorFlow or Flax weights ({name}); Glassbox reads safetensors"),
            "Convert them with transformers 4.x: from_pretrained(folder, from_tf=True) (or from_flax=True), then save_pretrained(folder)",
        );
    }
    match (safetensors, single) {
        (1, Some(name)) => hint(
            format!("the folder holds {name} but no model.safetensors"),
            "If that file holds the whole model's weights, rename it to model.safetensors",
        ),
        _ => None,
    }
}

/// What stands in for `missing` (`tokenizer.json`, else the weights file) in a folder whose file
/// names are `names`: the one dispatch the CLI and the page share.
pub fn stand_in_for(missing: &str, names: &[&str]) -> Option<FolderHint> {
    if missing == "tokenizer.json" {
        other_tokenizer_files(names)
    } else {
        other_weight_files(names)
    }
}

/// The files a Marian folder holds instead of tokenizer.json (`target_vocab.json` too when its
/// vocabularies are separate): MarianTokenizer is slow-only. `tokenizer::marian` reads them.
pub const MARIAN_FILES: [&str; 3] = ["source.spm", "target.spm", "vocab.json"];

/// What stands in for `tokenizer.json` in a folder whose file names are `names`, if anything.
pub fn other_tokenizer_files(names: &[&str]) -> Option<FolderHint> {
    let slow = ["vocab.txt", "vocab.json", "merges.txt", "spiece.model", "tokenizer.model", "sentencepiece.bpe.model"];
    if names.iter().any(|n| *n == "source.spm") {
        // With all of them Glassbox makes its own tokenizer.json (tokenizer::marian); this is
        // what is said when some are missing.
        let missing: Vec<&str> = MARIAN_FILES.into_iter().filter(|f| !names.contains(f)).collect();
        return Some(FolderHint {
            problem: format!("the folder holds Marian's source.spm but not {} (and no tokenizer.json)", missing.join(" or ")),
            fix: "Add the files MarianTokenizer.save_pretrained writes: source.spm, target.spm and vocab.json",
        });
    }
    let found = slow.iter().find(|s| names.contains(s))?;
    Some(FolderHint {
        problem: format!("the folder holds a slow tokenizer's files ({found}) but no tokenizer.json"),
        fix: "Write the fast tokenizer's file: in Python, AutoTokenizer.from_pretrained(folder).save_pretrained(folder) adds tokenizer.json",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_tokenizer_is_named_with_how_to_save_a_fast_one() {
        for (names, says) in [(&["vocab.txt"][..], "vocab.txt"), (&["config.json", "merges.txt", "vocab.json"], "vocab.json"), (&["spiece.model"], "spiece.model")] {
            let hint = other_tokenizer_files(names).unwrap();
            assert!(hint.problem.contains(says) && hint.fix.contains("save_pretrained"), "{hint:?}");
        }
        assert!(other_tokenizer_files(&["source.spm", "vocab.json"]).unwrap().problem.contains("Marian's source.spm but not target.spm"));
        // M2M100's pair is read (tokenizer::marian), so only its model alone gets here.
        assert!(other_tokenizer_files(&["sentencepiece.bpe.model"]).unwrap().problem.contains("sentencepiece.bpe.model"));
        assert_eq!(other_tokenizer_files(&["config.json", "model.safetensors"]), None);
    }

    #[test]
    fn each_stand_in_is_named_with_its_fix() {
        let shards = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
        let sharded = other_weight_files(&shards).unwrap();
        assert!(sharded.problem.contains("2 shard files") && sharded.problem.contains("not model.safetensors.index.json"), "{sharded:?}");
        assert!(sharded.fix.contains("Copy model.safetensors.index.json"), "{sharded:?}");
        // With its index, a sharded checkpoint is read (loader::shards): nothing stands in.
        assert_eq!(other_weight_files(&[&shards[..], &["model.safetensors.index.json"]].concat()), None);
        let pickle = other_weight_files(&["config.json", "pytorch_model.bin", "training_args.bin"]).unwrap();
        assert!(pickle.problem.contains("(pytorch_model.bin)") && pickle.fix.contains("safetensors"), "{pickle:?}");
        let sharded_pickle = other_weight_files(&["pytorch_model.bin.index.json"]).unwrap();
        assert!(sharded_pickle.problem.contains("pytorch_model.bin.index.json"), "{sharded_pickle:?}");
        let tf = other_weight_files(&["tf_model.h5"]).unwrap();
        assert!(tf.problem.contains("tf_model.h5") && tf.fix.contains("from_tf"), "{tf:?}");
        let adapter = other_weight_files(&["adapter_config.json", "adapter_model.safetensors"]).unwrap();
        assert!(adapter.problem.contains("adapter") && adapter.fix.contains("merge_and_unload"), "{adapter:?}");
        let renamed = other_weight_files(&["config.json", "model.fp16.safetensors"]).unwrap();
        assert!(renamed.problem.contains("model.fp16.safetensors") && renamed.fix.contains("rename it to model.safetensors"), "{renamed:?}");
    }

    #[test]
    fn a_folder_with_nothing_in_its_place_gets_no_hint() {
        assert_eq!(other_weight_files(&["config.json", "tokenizer.json"]), None);
        assert_eq!(other_weight_files(&[]), None);
        assert_eq!(other_weight_files(&["config.json", "training_args.bin"]), None);
        // Two unrelated safetensors files: which one is the model is not ours to guess.
        assert_eq!(other_weight_files(&["a.safetensors", "b.safetensors"]), None);
    }
}
