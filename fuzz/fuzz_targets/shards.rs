//! A sharded checkpoint: model.safetensors.index.json and the shards it names, as a visitor's folder.
//! The input is cut in three: the index, and two shards under the names a two-shard index uses
//! (so the fuzzer reaches the checks of index against shards, not only the index's own). Every
//! outcome must be Ok or a typed error, in time linear in the input.
#![no_main]
use glassbox::loader::tensor_file::FileBytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Two little-endian u16 lengths (the index's, the first shard's), then the bytes; lengths past the
    // input are cut to it.
    let Some(head) = data.get(..4) else { return };
    let rest = &data[4..];
    let n_index = (u16::from_le_bytes([head[0], head[1]]) as usize).min(rest.len());
    let n_first = (u16::from_le_bytes([head[2], head[3]]) as usize).min(rest.len() - n_index);
    let (index, shards) = rest.split_at(n_index);
    let (first, second) = shards.split_at(n_first);
    let _ = glassbox::loader::shard_names(index);
    let shards = vec![
        ("model-00001-of-00002.safetensors".to_string(), FileBytes::Memory(first)),
        ("model-00002-of-00002.safetensors".to_string(), FileBytes::Memory(second)),
    ];
    if let Ok(weights) = glassbox::loader::Weights::from_shards(index, shards) {
        for name in weights.names() {
            let _ = weights.get(&name, &[]);
        }
    }
});
