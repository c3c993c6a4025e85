//! `glassbox-wasm-fold IN.wasm OUT.wasm`: see the library's documentation.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = &args[..] else {
        eprintln!("usage: glassbox-wasm-fold IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    let mut module = match walrus::Module::from_file(input) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("glassbox-wasm-fold: cannot read {input}: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let folded = glassbox_wasm_fold::fold_simd_load_offsets(&mut module);
    if let Err(e) = module.emit_wasm_file(output) {
        eprintln!("glassbox-wasm-fold: cannot write {output}: {e:#}");
        return ExitCode::FAILURE;
    }
    println!("glassbox-wasm-fold: {folded} constant address additions folded into SIMD load offsets");
    ExitCode::SUCCESS
}
