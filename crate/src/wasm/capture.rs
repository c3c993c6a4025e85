//! The `attention` option of `run` and `inspect`: which attention maps come back. A view shows one
//! kind and layer at a time; asking for just those keeps a long input's maps in a tab's memory (every
//! layer of a GPT-2-small at 1024 tokens is 600 MB of maps, one layer 50 MB).

use super::{js_error, KindOption};
use crate::error::Error;
use crate::models::capture::MapSelection;
use crate::models::AttentionKind;
use crate::session::Session;
use js_sys::Reflect;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// `{ kinds?: ("encoder" | "decoder" | "cross")[], layers?: [first, end] }`: the kinds kept (default:
/// all) and the layers kept, counted from 0, `end` excluded (default: all).
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct AttentionOption {
    kinds: Option<Vec<KindOption>>,
    layers: Option<[u32; 2]>,
}

/// The selection an `attention` option asks of `session`'s model, refused by name when its layers
/// are empty or past the deepest stack.
pub(super) fn selection(option: Option<&AttentionOption>, session: &Session) -> Result<MapSelection, JsError> {
    let Some(option) = option else { return Ok(MapSelection::ALL) };
    let kinds: Option<Vec<AttentionKind>> = option.kinds.as_ref().map(|ks| ks.iter().map(|&k| k.into()).collect());
    // Kinds the model lacks are skipped (a view may ask for every kind), but a list of only those
    // would return no map at all and look like a bug in the caller's drawing.
    if let Some(ks) = kinds.as_deref().filter(|ks| !ks.is_empty()) {
        let all = [AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross];
        if ks.iter().all(|&k| session.model.attention_dims(k).is_none()) {
            let has: Vec<&str> = all.iter().filter(|&&k| session.model.attention_dims(k).is_some()).map(|k| k.as_str()).collect();
            let asked: Vec<&str> = ks.iter().map(|k| k.as_str()).collect();
            return Err(js_error(Error::input(
                format!("attention.kinds asks for {} attention, which this {} model does not have", asked.join(" and "), session.model.kind().as_str()),
                format!("Ask for {} (its kinds of attention)", has.join(", ")),
            )));
        }
    }
    let layers = match option.layers {
        None => None,
        Some([first, end]) => {
            let deepest = [AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross]
                .iter()
                .filter_map(|&k| session.model.attention_dims(k).map(|(l, _)| l))
                .max()
                .unwrap_or(0);
            if first >= end || first as usize >= deepest {
                return Err(js_error(Error::input(
                    format!("attention.layers [{first}, {end}] keeps no layer of this model's {deepest}"),
                    "Pass [first, end] with first < end, counted from 0 (e.g. [0, 1] for the first layer)",
                )));
            }
            Some(first as usize..end as usize)
        }
    };
    Ok(MapSelection::new(kinds.as_deref(), layers))
}

/// Mark each map tensor of `kinds` (`{ encoder?, decoder?, cross? }`) that holds only some layers with
/// `firstLayer`: the model's layer its first map is (the tensor's shape counts the kept layers).
pub(super) fn mark_first_layers(kinds: &JsValue, maps: MapSelection, session: &Session) {
    if maps == MapSelection::ALL {
        return;
    }
    for kind in [AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross] {
        let Some((n_layers, _)) = session.model.attention_dims(kind) else { continue };
        let Ok(tensor) = Reflect::get(kinds, &kind.as_str().into()) else { continue };
        if tensor.is_object() {
            let first = maps.layers(kind, n_layers).start;
            let _ = Reflect::set(&tensor, &"firstLayer".into(), &JsValue::from_f64(first as f64));
        }
    }
}
