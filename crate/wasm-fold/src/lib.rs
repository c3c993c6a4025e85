//! Folds `i32.const C; i32.add` into the offset of the SIMD load that follows it.
//!
//! LLVM (Rust 1.95) gives a constant offset to plain `v128.load`s but not to the SIMD loads that
//! widen or broadcast as they read (`v128.load32_splat`, `v128.load8x8_s`, ...): the prefill tile's
//! second broadcast activation and the int8 kernels' weight rows are each `base + C` computed by an
//! `i32.add` first, and binaryen's `--low-memory-unused` folding (108 and 132 alike) only handles
//! plain loads and stores. V8 turns each such add into one more x64 instruction inside the kernels'
//! innermost loops, where a memory operand's displacement would have been free.
//!
//! The rewrite is the one binaryen makes for plain loads under `--low-memory-unused`: an `i32.add`
//! wraps at 2^32 while an offset does not, so the two differ only for an address that wraps past
//! 4 GB into the first kilobyte, which Rust's wasm32 layout never uses (the stack grows down from
//! 1 MB; statics and the heap sit above it). Constants are folded only in `0..1024` for that reason.

use walrus::ir::{dfs_pre_order_mut, BinaryOp, Instr, InstrSeq, LoadSimdKind, Value, VisitorMut};
use walrus::{InstrLocId, Module};

/// The largest constant folded, exclusive: the low-memory bound binaryen assumes unused too.
pub const LOW_MEMORY: u64 = 1024;

/// Whether `kind` reads its whole result from memory at one address (no lane operand on the stack
/// above the address, so the address is the value just below the load).
fn reads_address_only(kind: LoadSimdKind) -> bool {
    use LoadSimdKind::*;
    matches!(
        kind,
        Splat8 | Splat16 | Splat32 | Splat64 | V128Load8x8S | V128Load8x8U | V128Load16x4S | V128Load16x4U | V128Load32x2S | V128Load32x2U | V128Load32Zero | V128Load64Zero
    )
}

#[derive(Default)]
struct Folder {
    folded: usize,
}

impl VisitorMut for Folder {
    fn start_instr_seq_mut(&mut self, seq: &mut InstrSeq) {
        let mut out: Vec<(Instr, InstrLocId)> = Vec::with_capacity(seq.instrs.len());
        for (mut instr, loc) in seq.instrs.drain(..) {
            if let Instr::LoadSimd(load) = &mut instr {
                // Stack order: `... address-base; i32.const C; i32.add; load` -> `... address-base; load offset+C`.
                if let [.., (Instr::Const(c), _), (Instr::Binop(add), _)] = &out[..] {
                    if let (Value::I32(value), BinaryOp::I32Add) = (c.value, add.op) {
                        let constant = u64::try_from(value).ok().filter(|&c| c < LOW_MEMORY);
                        if let Some(c) = constant.filter(|&c| reads_address_only(load.kind) && load.arg.offset + c < 1 << 32) {
                            load.arg.offset += c;
                            out.truncate(out.len() - 2);
                            self.folded += 1;
                        }
                    }
                }
            }
            out.push((instr, loc));
        }
        seq.instrs = out;
    }
}

/// Folds every foldable constant address addition in the module's own functions; returns how many.
pub fn fold_simd_load_offsets(module: &mut Module) -> usize {
    let mut folder = Folder::default();
    for (_, func) in module.funcs.iter_local_mut() {
        let entry = func.entry_block();
        dfs_pre_order_mut(&mut folder, func, entry);
    }
    folder.folded
}

#[cfg(test)]
mod tests {
    use super::*;
    use walrus::ir::{Binop, Const, LoadSimd, LocalGet, MemArg};
    use walrus::{FunctionBuilder, LocalId, ModuleConfig, ValType};

    /// One exported function `(param i32) (result v128)`: `local.get 0`, then what `then` gives
    /// (from the parameter's local), then a `kind` load (offset 4) of the address left on the stack,
    /// inside a loop when `in_loop`. Returns the load's sequence after folding, written out and read
    /// back (walrus validates what it reads), and how many were folded.
    fn fold_one(then: impl Fn(LocalId) -> Vec<Instr>, kind: LoadSimdKind, in_loop: bool) -> (Vec<Instr>, usize) {
        let mut module = Module::with_config(ModuleConfig::new());
        let memory = module.memories.add_local(false, false, 1, None, None);
        let mut f = FunctionBuilder::new(&mut module.types, &[ValType::I32], &[ValType::V128]);
        let arg = module.locals.add(ValType::I32);
        let load = Instr::LoadSimd(LoadSimd { memory, kind, arg: MemArg { align: 1, offset: 4 } });
        let body = |seq: &mut walrus::InstrSeqBuilder| {
            seq.local_get(arg);
            for i in then(arg) {
                seq.instr(i);
            }
            seq.instr(load.clone());
        };
        if in_loop {
            f.func_body().loop_(ValType::V128, body);
        } else {
            body(&mut f.func_body());
        }
        let id = f.finish(vec![arg], &mut module.funcs);
        module.exports.add("f", id);
        let folded = fold_simd_load_offsets(&mut module);
        let bytes = module.emit_wasm();
        let back = Module::from_buffer(&bytes).expect("the folded module is valid wasm");
        let func = back.funcs.iter_local().next().unwrap().1;
        let mut seq = func.block(func.entry_block());
        if in_loop {
            let Instr::Loop(l) = &seq.instrs[0].0 else { panic!("the loop is gone: {:?}", seq.instrs) };
            seq = func.block(l.seq);
        }
        (seq.instrs.iter().map(|(i, _)| i.clone()).collect(), folded)
    }

    fn plus(c: i32, op: BinaryOp) -> Vec<Instr> {
        vec![Instr::Const(Const { value: Value::I32(c) }), Instr::Binop(Binop { op })]
    }

    fn offset_of(instrs: &[Instr]) -> u64 {
        match instrs.last() {
            Some(Instr::LoadSimd(l)) => l.arg.offset,
            other => panic!("the function does not end in its load: {other:?}"),
        }
    }

    #[test]
    fn a_constant_added_to_the_address_moves_into_the_offset() {
        for kind in [LoadSimdKind::Splat32, LoadSimdKind::V128Load8x8S, LoadSimdKind::V128Load16x4U, LoadSimdKind::V128Load64Zero] {
            let (instrs, folded) = fold_one(|_| plus(12, BinaryOp::I32Add), kind, false);
            assert_eq!(folded, 1, "{kind:?}");
            assert_eq!(instrs.len(), 2, "{kind:?}: the const and the add are gone: {instrs:?}");
            assert!(matches!(instrs[0], Instr::LocalGet(_)), "{kind:?}: the base address stays");
            assert_eq!(offset_of(&instrs), 16, "{kind:?}: 4 + 12");
        }
    }

    #[test]
    fn loads_inside_loops_are_folded_too() {
        let (instrs, folded) = fold_one(|_| plus(8, BinaryOp::I32Add), LoadSimdKind::Splat32, true);
        assert_eq!((folded, instrs.len(), offset_of(&instrs)), (1, 2, 12));
    }

    #[test]
    fn additions_that_could_wrap_or_are_not_constant_stay_as_they_are() {
        // Negative (the base may sit just above the address), at the low-memory bound or past it,
        // another operation than an add, and an add of two run-time values.
        type Then = Box<dyn Fn(LocalId) -> Vec<Instr>>;
        let cases: Vec<(&str, Then)> = vec![
            ("minus 4", Box::new(|_| plus(-4, BinaryOp::I32Add))),
            ("plus the bound", Box::new(|_| plus(LOW_MEMORY as i32, BinaryOp::I32Add))),
            ("times 8", Box::new(|_| plus(8, BinaryOp::I32Mul))),
            ("plus itself", Box::new(|x| vec![Instr::LocalGet(LocalGet { local: x }), Instr::Binop(Binop { op: BinaryOp::I32Add })])),
        ];
        for (what, then) in cases {
            let (instrs, folded) = fold_one(then, LoadSimdKind::Splat32, false);
            assert_eq!(folded, 0, "{what}");
            assert_eq!(instrs.len(), 4, "{what}: {instrs:?}");
            assert_eq!(offset_of(&instrs), 4, "{what}");
        }
    }
}
