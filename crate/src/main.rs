//! `glassbox`: the command-line face of the core, for tests and for precomputing figures.
//! Prints JSON on stdout; on failure prints one line on stderr and exits with code 1.

use glassbox::error::{Error, Result};
use glassbox::loader::ModelFiles;
use glassbox::models::beam::BeamOptions;
use glassbox::models::{AttentionMaps, Capture, Kind};
use glassbox::card::ModelCard;
use glassbox::plot::{self, MapStyle, Mask, Palette};
use glassbox::session::{DecodingPlan, GenerationRequest, Session};
use glassbox::teach::patterns::{score_heads, MapKind, Pattern};
use glassbox::teach::rollout;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

mod cli_teach;

const USAGE: &str = "\
glassbox: look inside transformer models

USAGE:
  glassbox tokenize DIR --text T [--pair P] [--text T2 [--pair P2] ...] [--src-lang CODE]
  glassbox inspect  DIR --text T [--pair P] [--text T2 ...] [--decoder-ids 0,5,9] [--scores] [--views] [--src-lang CODE]
                                 [--generate N [--num-beams B] [--length-penalty F] [--tgt-lang CODE]]
                                 [--token-effects] [--zero-shot LABEL,LABEL,... [--template T] [--multi-label]]
  glassbox generate DIR --text T [--max-new-tokens N] [--temperature F] [--top-k K] [--top-p P] [--seed S]
                                 [--num-beams B] [--length-penalty F] [--tgt-lang CODE] [--src-lang CODE]
  glassbox info     DIR
  glassbox plot     DIR --text T --out fig.png [--kind encoder|decoder|cross] [--layer N] [--head N|mean|all]
                                 [--cell PX] [--theme light|dark] [--decoder-ids 0,5,9]
  glassbox transfer DIR --data SENTENCES.json   (logistic regression on frozen sentence embeddings)
  glassbox rnn [--cell rnn|lstm|attention] [--length N] [--weight-scale F] [--clip F] [--steps S] ...
                                 (trains the model of <glassbox-rnn>; `glassbox rnn --help` lists the options)

Every command that takes --text also takes --text-file FILE (--text-file - reads standard input).
glassbox COMMAND --help prints this; glassbox --version the version.
DIR is a Hugging Face model folder: config.json, model.safetensors, tokenizer.json
(tokenizer_config.json, special_tokens_map.json and generation_config.json are read when present;
a sharded checkpoint's model.safetensors.index.json and shards stand in for model.safetensors).
Generation options left out take the values of generation_config.json (else config.json's
generation keys, else greedy, one beam and 20 new tokens); options given override them.
--top-k and --top-p apply only when sampling: --temperature F above 0, or do_sample in the model's
settings; with neither given nor in the settings, top-k is HF's 50 (--top-k 0 switches it off).
Add --random-weights SEED to inspect, generate, info, plot or transfer to use seeded random weights
instead of the file (model.safetensors is then not needed).
--weights f32|f16|bf16|int8 keeps the linear layers' weights in that storage (default: the file's
own dtype, so f16/bf16 checkpoints stay 16-bit; int8 has one scale per 64 weights).
Encoder-decoder models: --decoder-ids defaults to the decoder start token; ids that do not start
with it are allowed (the model sees exactly what you give). --num-beams B > 1 runs beam search
(Hugging Face's definition; the length penalty divides the summed log-probability by
new_tokens^F) and prints the best sequence once it is done. --tgt-lang CODE (generate, and inspect
--generate) makes the language code the first generated token, as transformers' forced_bos_token_id
does: how NLLB and mBART-50 are told which language to translate into (fra_Latn, fr_XX, ...).
--src-lang CODE (tokenize, inspect, generate) sets an mBART, mBART-50, NLLB or M2M100 tokenizer's source
language, whose code its template adds to the input (default: the folder's src_lang).
plot draws one attention map as the page does (same colours, hatched masked cells, PX pixels a
cell, default 16) and writes it as a PNG: --layer and --head count from 1 as the page does (the JSON
of inspect indexes its arrays from 0), --head mean (the default)
averages the heads, --head all draws every head of every layer as a grid (a row per layer).
--kind defaults to the model's first kind (encoder, else decoder).
inspect --views adds, per attention kind, the model view's pattern scores of every layer and head
(and the head they pick) and, for self-attention, attention rollout and attention flow from every
output token (the last one only beyond 48 tokens; see glassbox::teach).";

fn main() {
    // `std::env::args` panics on an argument that is not UTF-8 (a lone surrogate, a Latin-1 byte in a
    // shell-escaped text): read them raw and say which one instead.
    let args: std::result::Result<Vec<String>, String> = std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(i, arg)| {
            arg.into_string().map_err(|raw| {
                format!(
                    "argument {} ({}) is not valid UTF-8, and Glassbox reads texts and paths as UTF-8. Give the text as UTF-8 \
                     (a lone surrogate or a byte such as \\xFF is not a character), or rename the folder",
                    i + 1,
                    raw.to_string_lossy()
                )
            })
        })
        .collect();
    if let Err(message) = args.and_then(|args| run(&args)) {
        // Not eprintln!: it panics when stderr cannot be written (a full disk); exit 1 either way.
        let _ = writeln!(std::io::stderr(), "error: {message}");
        std::process::exit(1);
    }
}

/// The largest JSON file the CLI reads (config.json, tokenizer_config.json, ...): a real one is a few
/// kilobytes, a tokenizer.json tens of megabytes.
const MAX_JSON_BYTES: u64 = 1 << 26;
const MAX_TOKENIZER_BYTES: u64 = 1 << 30;

/// What to do when a file given to the CLI is not a regular file, or is too large: the fix depends on
/// where the file came from (a model folder's own file, --text-file, --data).
pub(crate) struct FileFixes {
    pub not_a_file: &'static str,
    pub too_large: &'static str,
}

/// A file of a model folder (config.json, tokenizer.json, ...).
const IN_MODEL_FOLDER: FileFixes = FileFixes { not_a_file: "Put the file itself in the model folder", too_large: "Use the file saved with the model" };

/// Reads `path` if it is a regular file of at most `max` bytes (no limit when `None`): a pipe would
/// block forever, and a device (a link to /dev/zero) or a sparse file of gigabytes would be read
/// until memory runs out before the parser could say anything. `Ok(None)`: there is no such file.
fn read_file(path: &Path, max: Option<u64>) -> Result<Option<Vec<u8>>> {
    read_file_given(path, max, &IN_MODEL_FOLDER)
}

/// [`read_file`] for a file named on the command line, with the fixes that suit it.
pub(crate) fn read_file_given(path: &Path, max: Option<u64>, fixes: &FileFixes) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let fail = |problem: String, fix: &str| Error::file(path.display().to_string(), problem, fix);
    let unreadable = |e: std::io::Error| fail(format!("cannot be read ({e})"), "Check the file's permissions");
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e)),
    };
    if !meta.is_file() {
        return Err(fail("is not a regular file (a folder, a pipe or a device)".into(), fixes.not_a_file));
    }
    if let Some(max) = max.filter(|&max| meta.len() > max) {
        return Err(fail(format!("is {} bytes, more than the {max} such a file can be", meta.len()), fixes.too_large));
    }
    let mut bytes = Vec::new();
    // `take`: a file that grows while it is read stops at the limit too.
    std::fs::File::open(path).and_then(|file| file.take(max.map_or(u64::MAX, |max| max + 1)).read_to_end(&mut bytes)).map_err(unreadable)?;
    if max.is_some_and(|max| bytes.len() as u64 > max) {
        return Err(fail("grew past its limit while it was read".into(), fixes.too_large));
    }
    Ok(Some(bytes))
}

/// The most a file called `name` in a model folder may hold.
fn limit_of(name: &str) -> Option<u64> {
    match name {
        "model.safetensors" => None,
        "tokenizer.json" => Some(MAX_TOKENIZER_BYTES),
        _ => Some(MAX_JSON_BYTES),
    }
}

/// stdout could not be written (a closed pipe, a full disk).
fn stdout_failed(e: std::io::Error) -> Error {
    Error::input(format!("the output cannot be written ({e})"), "Check where stdout goes (a closed pipe, a full disk)")
}

/// Parsed command line.
#[derive(Default)]
struct Args {
    command: String,
    dir: PathBuf,
    texts: Vec<String>,
    /// `--pair` after a `--text`: the second text read with it (`[CLS] A [SEP] B [SEP]`), by index.
    pairs: Vec<Option<String>>,
    decoder_ids: Option<Vec<u32>>,
    generate: Option<usize>,
    scores: bool,
    views: bool,
    /// `inspect --token-effects`: how much hiding each token lowers a text classifier's verdict.
    token_effects: bool,
    /// `inspect --zero-shot a,b,c [--template T] [--multi-label]`: an NLI model's zero-shot scores.
    zero_shot: Option<Vec<String>>,
    template: Option<String>,
    multi_label: bool,
    // `None`: what the model's generation_config.json (or config.json) says.
    max_new_tokens: Option<usize>,
    temperature: Option<f32>,
    top_k: Option<usize>,
    top_p: Option<f32>,
    seed: u64,
    num_beams: Option<usize>,
    length_penalty: Option<f64>,
    /// `--tgt-lang CODE`: the token forced first when generating.
    tgt_lang: Option<String>,
    /// `--src-lang CODE`: a translation tokenizer's source language (its template's code).
    src_lang: Option<String>,
    random_weights: Option<u64>,
    weights: Option<glassbox::kernels::Storage>,
    kind: Option<String>,
    /// `plot --layer N`, counted from 1 as on the page (default the first).
    layer: Option<usize>,
    head: Option<String>,
    cell: usize,
    theme: String,
    out: Option<PathBuf>,
    data: Option<PathBuf>,
}

/// The options each command reads (every other known option is refused for it by name).
const FLAGS: &[(&str, &[&str])] = &[
    ("tokenize", &["--text", "--text-file", "--pair", "--src-lang"]),
    // --generate N is greedy, or beam search when the model's settings or --num-beams ask for it.
    ("inspect", &["--text", "--text-file", "--pair", "--token-effects", "--zero-shot", "--template", "--multi-label", "--decoder-ids", "--generate", "--scores", "--views", "--num-beams", "--length-penalty", "--tgt-lang", "--src-lang", "--random-weights", "--weights"]),
    ("generate", &["--text", "--text-file", "--max-new-tokens", "--temperature", "--top-k", "--top-p", "--seed", "--num-beams", "--length-penalty", "--tgt-lang", "--src-lang", "--random-weights", "--weights"]),
    ("info", &["--random-weights", "--weights"]),
    ("plot", &["--text", "--text-file", "--out", "--kind", "--layer", "--head", "--cell", "--theme", "--decoder-ids", "--random-weights", "--weights"]),
    ("transfer", &["--data", "--random-weights", "--weights"]),
];

/// What [`parse_args`] returns for `--help` anywhere it can be an option: [`run`] prints the usage
/// on stdout and exits with 0, as for `glassbox --help`.
const HELP_ASKED: &str = "\u{0}help";

/// Options that may be given more than once: each `--text` is one more text, each `--pair` goes with
/// the `--text` before it. Any other option given twice is refused (the last one would win silently).
const REPEATABLE: &[&str] = &["--text", "--text-file", "--pair"];

/// Commands that read one text: a second `--text` would be dropped.
const ONE_TEXT: &[&str] = &["generate", "plot"];

fn parse_args(raw: &[String]) -> std::result::Result<Args, String> {
    let mut it = raw.iter();
    let command = it.next().ok_or_else(|| USAGE.to_string())?.clone();
    if command == "--help" || command == "-h" || command == "help" {
        return Err(HELP_ASKED.to_string());
    }
    if !["tokenize", "inspect", "generate", "info", "plot", "transfer"].contains(&command.as_str()) {
        return Err(format!("unknown command `{command}`. Use tokenize, inspect, generate, info, plot, transfer or rnn (see --help)"));
    }
    let mut a = Args { command, cell: 16, theme: "light".into(), ..Default::default() };
    let mut dir = None;
    let allowed = FLAGS.iter().find(|(c, _)| *c == a.command).map_or(&[][..], |(_, f)| *f);
    let mut given: Vec<&str> = Vec::new();
    while let Some(arg) = it.next() {
        if !allowed.contains(&arg.as_str()) && FLAGS.iter().any(|(_, f)| f.contains(&arg.as_str())) {
            // A flag another command takes would change nothing here: say so rather than ignore it.
            return Err(format!("`{arg}` does not apply to `{}`, which takes {} (see --help)", a.command, allowed.join(", ")));
        }
        if allowed.contains(&arg.as_str()) {
            if given.contains(&arg.as_str()) && !REPEATABLE.contains(&arg.as_str()) {
                return Err(format!("`{arg}` is given twice; give it once (the last one would silently win)"));
            }
            given.push(arg);
        }
        let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--text" => {
                a.texts.push(value("--text")?);
                a.pairs.push(None);
            }
            "--text-file" => {
                a.texts.push(read_text_file(&value("--text-file")?)?);
                a.pairs.push(None);
            }
            "--pair" => {
                let pair = value("--pair")?;
                match a.pairs.last_mut() {
                    Some(slot @ None) => *slot = Some(pair),
                    Some(Some(_)) => return Err("--pair given twice for one --text: one second text per text".into()),
                    None => return Err("--pair comes after the --text it goes with: --text \"premise\" --pair \"hypothesis\"".into()),
                }
            }
            "--decoder-ids" => {
                let v = value("--decoder-ids")?;
                if v.trim().is_empty() {
                    return Err("--decoder-ids is empty: give comma-separated ids like 0,5,9, or leave it out to start from the decoder start token".into());
                }
                // Every entry is an id: an empty one (`0,,5`, a trailing comma) is refused, not skipped.
                let ids = v
                    .split(',')
                    .map(|s| match s.trim() {
                        "" => Err(format!("--decoder-ids: `{v}` has an empty entry; give comma-separated ids like 0,5,9")),
                        t => t.parse::<u32>().map_err(|_| format!("--decoder-ids: `{t}` is not a token id; give comma-separated ids like 0,5,9")),
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                a.decoder_ids = Some(ids);
            }
            "--generate" => a.generate = Some(number(&value("--generate")?, "--generate")?),
            "--scores" => a.scores = true,
            "--views" => a.views = true,
            "--token-effects" => a.token_effects = true,
            "--zero-shot" => a.zero_shot = Some(value("--zero-shot")?.split(',').map(|l| l.trim().to_string()).collect()),
            "--template" => a.template = Some(value("--template")?),
            "--multi-label" => a.multi_label = true,
            "--max-new-tokens" => a.max_new_tokens = Some(number(&value("--max-new-tokens")?, "--max-new-tokens")?),
            "--temperature" => a.temperature = Some(number(&value("--temperature")?, "--temperature")?),
            "--top-k" => a.top_k = Some(number(&value("--top-k")?, "--top-k")?),
            "--top-p" => a.top_p = Some(number(&value("--top-p")?, "--top-p")?),
            "--seed" => a.seed = number(&value("--seed")?, "--seed")?,
            "--num-beams" => a.num_beams = Some(number(&value("--num-beams")?, "--num-beams")?),
            "--length-penalty" => a.length_penalty = Some(number(&value("--length-penalty")?, "--length-penalty")?),
            "--tgt-lang" => a.tgt_lang = Some(value("--tgt-lang")?),
            "--src-lang" => a.src_lang = Some(value("--src-lang")?),
            "--random-weights" => a.random_weights = Some(number(&value("--random-weights")?, "--random-weights")?),
            "--weights" => {
                let v = value("--weights")?;
                a.weights = Some(glassbox::kernels::Storage::parse(&v).ok_or_else(|| format!("--weights: `{v}` is not a weight storage; use f32, f16, bf16 or int8"))?);
            }
            "--kind" => a.kind = Some(value("--kind")?),
            "--layer" => a.layer = Some(number(&value("--layer")?, "--layer")?),
            "--head" => a.head = Some(value("--head")?),
            "--cell" => a.cell = number(&value("--cell")?, "--cell")?,
            "--theme" => a.theme = value("--theme")?,
            "--data" => a.data = Some(PathBuf::from(value("--data")?)),
            "--out" => a.out = Some(PathBuf::from(value("--out")?)),
            "--help" | "-h" => return Err(HELP_ASKED.to_string()),
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}` (see --help)")),
            path if dir.is_none() => dir = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument `{extra}`; put text after --text")),
        }
    }
    a.dir = dir.ok_or("missing the model folder: glassbox COMMAND DIR ...")?;
    if a.texts.is_empty() && a.command != "info" && a.command != "transfer" {
        return Err("no text given: add --text \"your sentence\" (or --text-file FILE)".into());
    }
    if ONE_TEXT.contains(&a.command.as_str()) && a.texts.len() > 1 {
        return Err(format!("`{}` reads one text, and {} were given; run it once per text (tokenize and inspect take several)", a.command, a.texts.len()));
    }
    // Options that would change nothing without another one: refused by name, not ignored.
    let needs = |option: &str, without: &str, fix: &str| -> std::result::Result<(), String> {
        if given.contains(&option) && !given.contains(&without) {
            return Err(format!("{option} applies only with {without}: {fix}"));
        }
        Ok(())
    };
    needs("--template", "--zero-shot", "add --zero-shot LABEL,LABEL,... or leave --template out")?;
    needs("--multi-label", "--zero-shot", "add --zero-shot LABEL,LABEL,... or leave --multi-label out")?;
    if a.command == "inspect" {
        if given.contains(&"--decoder-ids") && given.contains(&"--generate") {
            return Err("--generate starts from the decoder start token, so --decoder-ids would not change what it generates: \
                        run inspect once with --decoder-ids (the maps) and once with --generate"
                .into());
        }
    }
    if a.command == "plot" {
        match &a.out {
            None => return Err("plot needs a file to write: add --out fig.png".into()),
            Some(out) if !out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) => {
                return Err(format!("--out {}: plot writes PNG images; name the file with .png, such as fig.png", out.display()));
            }
            Some(out) if out.is_dir() => return Err(format!("--out {} is a folder; give a file name such as {}", out.display(), out.join("fig.png").display())),
            Some(_) => {}
        }
        if a.head.as_deref() == Some("all") && given.contains(&"--layer") {
            return Err("--head all draws every head of every layer, so --layer would change nothing: leave --layer out, or give --head N or mean".into());
        }
        if !matches!(a.theme.as_str(), "light" | "dark") {
            return Err(format!("--theme {} is not a theme; use --theme light or --theme dark", a.theme));
        }
        if let Some(kind) = a.kind.as_deref().filter(|k| !matches!(*k, "encoder" | "decoder" | "cross")) {
            return Err(format!("--kind {kind} is not an attention kind; use --kind encoder, decoder or cross"));
        }
        if let Some(head) = a.head.as_deref().filter(|h| !matches!(*h, "mean" | "all") && h.parse::<usize>().is_err()) {
            return Err(format!("--head {head} is not a head; use a head number from 1, mean or all"));
        }
    }
    Ok(a)
}

/// The longest text `--text-file` reads (16 MiB): far past any model's positions, and the tokenizer
/// refuses longer texts anyway.
const MAX_TEXT_FILE_BYTES: u64 = 16 << 20;

/// `--text-file FILE` (`-` reads standard input): the file's text, whole, as UTF-8.
fn read_text_file(path: &str) -> std::result::Result<String, String> {
    use std::io::Read;
    let bytes = if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().take(MAX_TEXT_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("--text-file -: standard input cannot be read ({e})"))?;
        if bytes.len() as u64 > MAX_TEXT_FILE_BYTES {
            return Err(format!("--text-file -: standard input holds more than {MAX_TEXT_FILE_BYTES} bytes; give a shorter text"));
        }
        bytes
    } else {
        const TEXT_FILE: FileFixes = FileFixes {
            not_a_file: "Give --text-file a text file, or - to read standard input",
            too_large: "Give a shorter text: no model reads millions of tokens at once",
        };
        read_file_given(Path::new(path), Some(MAX_TEXT_FILE_BYTES), &TEXT_FILE)
            .map_err(|e| format!("--text-file: {e}"))?
            .ok_or_else(|| format!("--text-file: {path}: no such file; check the path"))?
    };
    String::from_utf8(bytes).map_err(|e| {
        format!("--text-file {path}: byte {} is not valid UTF-8; save the file as UTF-8", e.utf8_error().valid_up_to())
    })
}

impl Args {
    /// The generation options given on the command line (the rest comes from the model's settings).
    fn request(&self) -> GenerationRequest {
        GenerationRequest {
            max_new_tokens: self.max_new_tokens,
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed: self.seed,
            num_beams: self.num_beams,
            length_penalty: self.length_penalty,
        }
    }
}

fn number<T: std::str::FromStr>(s: &str, flag: &str) -> std::result::Result<T, String> {
    let kind = std::any::type_name::<T>();
    let want = if kind.starts_with('f') { "a number such as 0.8" } else if kind.starts_with('i') { "a whole number such as 5" } else { "a whole number of 0 or more, such as 5" };
    s.parse().map_err(|_| format!("{flag}: `{s}` is not a valid value; give {want}"))
}

/// model.safetensors (or a shard) left on disk and read one tensor at a time ([`ReadAt`]), as the
/// page's worker reads a picked file: a 16-bit or int8 model then costs its packed weights, not
/// those plus the whole file (a 2.5 GB bf16 Llama-3.2-1B shape peaked at 4.9 GB of resident memory
/// read whole, 2.6 GB this way). Opening the file reads nothing; its length is fixed then, and a
/// read that fails later (the file shrank, a disk error) stops the load with its byte offset.
struct DiskFile {
    file: std::sync::Mutex<std::fs::File>,
    len: usize,
}

impl DiskFile {
    fn open(path: &Path) -> Result<Self> {
        let fail = |problem: String, fix: &str| Error::file(path.display().to_string(), problem, fix);
        // Looked at before it is opened: opening a pipe waits for a writer, forever if none comes.
        if std::fs::metadata(path).is_ok_and(|meta| !meta.is_file()) {
            return Err(fail("is not a regular file (a folder, a pipe or a device)".into(), "Put the file itself in the model folder"));
        }
        let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot be read ({e})"), "Check the file's permissions"))?;
        let meta = file.metadata().map_err(|e| fail(format!("cannot be read ({e})"), "Check the file's permissions"))?;
        if !meta.is_file() {
            return Err(fail("is not a regular file (a folder, a pipe or a device)".into(), "Put the file itself in the model folder"));
        }
        let len = usize::try_from(meta.len()).map_err(|_| fail(format!("is {} bytes, more than this machine can address", meta.len()), "Use a 64-bit build of glassbox"))?;
        Ok(DiskFile { file: std::sync::Mutex::new(file), len })
    }
}

impl glassbox::loader::tensor_file::ReadAt for DiskFile {
    fn len(&self) -> usize {
        self.len
    }

    fn read_at(&self, offset: usize, dst: &mut [u8]) -> std::result::Result<(), glassbox::loader::tensor_file::ReadError> {
        use std::io::{Read, Seek, SeekFrom};
        let read = match self.file.lock() {
            Ok(mut file) => file.seek(SeekFrom::Start(offset as u64)).and_then(|_| file.read_exact(dst)).map_err(|e| e.to_string()),
            Err(_) => Err("a reader failed".to_string()),
        };
        read.map_err(|e| glassbox::loader::tensor_file::ReadError {
            problem: format!("cannot be read at byte {offset} ({e}): it changed or was cut short after Glassbox checked its header"),
            fix: "Check that nothing changes the file while Glassbox reads it, and that the disk is readable",
        })
    }
}

/// A model's weights on disk: model.safetensors, or a sharded checkpoint's index and the shards
/// it names, each read one tensor at a time.
enum DiskWeights {
    One(DiskFile),
    Shards { index: Vec<u8>, shards: Vec<(String, DiskFile)> },
}

impl DiskWeights {
    /// A folder's weights: model.safetensors when it is there (as transformers prefers it), else
    /// the shards of model.safetensors.index.json. `None` when the folder has neither.
    fn open(dir: &Path) -> Result<Option<Self>> {
        if dir.join("model.safetensors").exists() {
            return DiskFile::open(&dir.join("model.safetensors")).map(|f| Some(DiskWeights::One(f)));
        }
        let index_path = dir.join(glassbox::loader::shards::INDEX);
        let Some(index) = read_file(&index_path, limit_of(glassbox::loader::shards::INDEX))? else { return Ok(None) };
        let names = glassbox::loader::shard_names(&index)?;
        // A shard that is not there is left for the loader to name, with the index's words.
        let shards = names.iter().filter(|n| dir.join(n).exists()).map(|n| DiskFile::open(&dir.join(n)).map(|f| (n.clone(), f))).collect::<Result<Vec<_>>>()?;
        Ok(Some(DiskWeights::Shards { index, shards }))
    }

    fn source(&self) -> glassbox::loader::WeightSource<'_> {
        use glassbox::loader::tensor_file::FileBytes;
        match self {
            DiskWeights::One(file) => FileBytes::External(file).into(),
            DiskWeights::Shards { index, shards } => glassbox::loader::WeightSource::Shards { index, shards: shards.iter().map(|(n, f)| (n.clone(), FileBytes::External(f))).collect() },
        }
    }

    /// Bytes of the weight files.
    fn len(&self) -> usize {
        self.source().len()
    }
}

/// The files of a model folder, read from disk (the weights only opened: see [`DiskFile`]).
struct FolderBytes {
    config: Vec<u8>,
    weights: Option<DiskWeights>,
    tokenizer: Vec<u8>,
    tokenizer_config: Option<Vec<u8>>,
    special_tokens_map: Option<Vec<u8>>,
    generation_config: Option<Vec<u8>>,
}

impl FolderBytes {
    /// Read a model folder. `tokenizer_only` reads just the tokenizer files (config.json optional).
    fn read(dir: &Path, need_weights: bool) -> Result<Self> {
        Self::read_parts(dir, need_weights, false)
    }

    fn read_parts(dir: &Path, need_weights: bool, tokenizer_only: bool) -> Result<Self> {
        // A mistyped path or a file given for the folder: say so, not that one of its files is missing.
        if !dir.exists() {
            return Err(Error::file(dir.display().to_string(), "no such folder", "Check the path: give the model folder, the one holding config.json, model.safetensors and tokenizer.json"));
        }
        if !dir.is_dir() {
            return Err(Error::file(dir.display().to_string(), "is a file, not a folder", "Give the model folder that holds it (config.json, model.safetensors and tokenizer.json side by side)"));
        }
        let required = |name: &str| {
            read_file(&dir.join(name), limit_of(name))?.ok_or_else(|| {
                Error::file(dir.join(name).display().to_string(), "cannot be read (no such file)", "Pass a folder holding config.json, model.safetensors and tokenizer.json")
            })
        };
        // An optional file that is there but cannot be read is an error, not silently left out.
        let optional = |name: &str| read_file(&dir.join(name), limit_of(name));
        // A missing weights file or tokenizer.json: say what the folder holds instead, if anything.
        let required_or_stand_in = |name: &str| {
            if !dir.join(name).exists() {
                let names: Vec<String> = dir.read_dir().into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                if let Some(hint) = glassbox::loader::stand_in_for(name, &names) {
                    return Err(Error::file(dir.join(name).display().to_string(), hint.problem, hint.fix));
                }
            }
            required(name)
        };
        // config.json first: a folder without it (or with one that is not a model's) is named by it, not by the tokenizer.
        let config = if tokenizer_only { optional("config.json")?.unwrap_or_default() } else { required("config.json")? };
        let tokenizer_config = optional("tokenizer_config.json")?;
        // A Marian folder as transformers saves it has no tokenizer.json: Glassbox makes one of
        // its SentencePiece models and vocabulary (the page does the same).
        let tokenizer = if !dir.join("tokenizer.json").exists() && dir.join("source.spm").exists() {
            let marian_file = |name: &str| {
                optional(name)?.ok_or_else(|| {
                    Error::file(dir.join(name).display().to_string(), "cannot be read (no such file): a Marian folder without tokenizer.json needs source.spm, target.spm and vocab.json", "Add the files MarianTokenizer.save_pretrained writes beside source.spm")
                })
            };
            let [source_spm, target_spm, vocab] = glassbox::tokenizer::marian::MARIAN_FILES.map(marian_file);
            let target_vocab = optional("target_vocab.json")?;
            let files = glassbox::tokenizer::marian::MarianFiles {
                source_spm: &source_spm?,
                target_spm: Some(&target_spm?),
                vocab: &vocab?,
                target_vocab: target_vocab.as_deref(),
                tokenizer_config: tokenizer_config.as_deref(),
            };
            glassbox::tokenizer::marian::tokenizer_json(&files)?
        } else if !dir.join("tokenizer.json").exists() && dir.join("sentencepiece.bpe.model").exists() && dir.join("vocab.json").exists() && !dir.join("merges.txt").exists() {
            // M2M100Tokenizer's files (facebook/m2m100_418M): its SentencePiece model and vocabulary.
            let [spm, vocab] = glassbox::tokenizer::marian::M2M100_FILES.map(|name| optional(name));
            glassbox::tokenizer::marian::m2m100_tokenizer_json(&spm?.unwrap_or_default(), &vocab?.unwrap_or_default(), tokenizer_config.as_deref())?
        } else if !dir.join("tokenizer.json").exists() && (dir.join("vocab.txt").exists() || dir.join("merges.txt").exists()) {
            // A slow tokenizer's files (BERT's vocab.txt, GPT-2's and RoBERTa's vocab.json and
            // merges.txt): built as transformers builds them, by the folder's tokenizer class.
            let (vocab_txt, vocab_json, merges_txt) = (optional("vocab.txt")?, optional("vocab.json")?, optional("merges.txt")?);
            let files = glassbox::tokenizer::slow::SlowFiles { vocab_txt: vocab_txt.as_deref(), vocab_json: vocab_json.as_deref(), merges_txt: merges_txt.as_deref() };
            glassbox::tokenizer::slow::tokenizer_json(&files)?
        } else {
            required_or_stand_in("tokenizer.json")?
        };
        Ok(FolderBytes {
            config,
            weights: if need_weights {
                match DiskWeights::open(dir)? {
                    Some(weights) => Some(weights),
                    // What stands in for the weights, if anything (shards without their index, an adapter, ...).
                    None => {
                        required_or_stand_in("model.safetensors")?;
                        return Err(Error::file(dir.join("model.safetensors").display().to_string(), "cannot be read (no such file)", "Pass a folder holding config.json, model.safetensors and tokenizer.json"));
                    }
                }
            } else {
                None
            },
            tokenizer,
            tokenizer_config,
            special_tokens_map: optional("special_tokens_map.json")?,
            generation_config: optional("generation_config.json")?,
        })
    }
    fn files(&self) -> ModelFiles<'_> {
        ModelFiles {
            config: &self.config,
            // Read through `DiskFile` by [`load`], never whole.
            weights: None,
            tokenizer: &self.tokenizer,
            tokenizer_config: self.tokenizer_config.as_deref(),
            special_tokens_map: self.special_tokens_map.as_deref(),
            generation_config: self.generation_config.as_deref(),
        }
    }
}

fn run(raw: &[String]) -> std::result::Result<(), String> {
    // Asked-for help is an answer, not an error: stdout, exit code 0.
    if raw.first().is_some_and(|c| c == "--help" || c == "-h" || c == "help") {
        return writeln!(std::io::stdout(), "{USAGE}").map_err(|e| stdout_failed(e).to_string());
    }
    if raw.first().is_some_and(|c| c == "--version" || c == "-V") {
        return writeln!(std::io::stdout(), "glassbox {}", env!("CARGO_PKG_VERSION")).map_err(|e| stdout_failed(e).to_string());
    }
    if raw.first().is_some_and(|c| c == "rnn") {
        return cli_teach::rnn(&raw[1..]);
    }
    let args = match parse_args(raw) {
        Err(e) if e == HELP_ASKED => return writeln!(std::io::stdout(), "{USAGE}").map_err(|e| stdout_failed(e).to_string()),
        other => other?,
    };
    let out = match args.command.as_str() {
        "tokenize" => tokenize(&args),
        "inspect" => inspect(&args),
        "generate" => return generate_cmd(&args).map_err(|e| e.to_string()),
        "info" => info(&args),
        "plot" => return plot(&args).map_err(|e| e.to_string()),
        "transfer" => transfer(&args),
        _ => unreachable!("checked in parse_args"),
    }
    .map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &out).map_err(std::io::Error::from).and_then(|_| writeln!(stdout)).and_then(|_| stdout.flush()).map_err(|e| stdout_failed(e).to_string())
}

fn tokenize(args: &Args) -> Result<Value> {
    // A folder, or a tokenizer.json file itself (its siblings' tokenizer configs are read too).
    let bytes = if args.dir.is_file() {
        let beside = |name: &str| read_file(&args.dir.with_file_name(name), limit_of(name));
        FolderBytes {
            config: Vec::new(),
            weights: None,
            tokenizer: read_file(&args.dir, Some(MAX_TOKENIZER_BYTES))?.unwrap_or_default(),
            tokenizer_config: beside("tokenizer_config.json")?,
            special_tokens_map: beside("special_tokens_map.json")?,
            generation_config: None,
        }
    } else {
        FolderBytes::read_parts(&args.dir, false, true)?
    };
    // A model folder's config.json (if any) names the model type, which changes how transformers
    // reads some tokenizers; an unreadable one is the model's problem, not the tokenizer's.
    let model_type = glassbox::loader::model_type(&bytes.config).ok();
    let mut tok = glassbox::tokenizer::Tokenizer::for_model(&bytes.tokenizer, bytes.tokenizer_config.as_deref(), bytes.special_tokens_map.as_deref(), model_type.as_deref())
        .map_err(|e| match e {
            // A file given by its path (`tokenize DIR/vocab.json`): the message names that file, not tokenizer.json.
            Error::File { file, problem, fix } if file == "tokenizer.json" && args.dir.is_file() => Error::File {
                file: args.dir.display().to_string(),
                problem,
                fix: format!("{fix} (give a tokenizer.json, or the model folder)"),
            },
            other => other,
        })?;
    if let Some(code) = &args.src_lang {
        tok.set_src_lang(code)?;
    }
    let mut cases = Vec::new();
    for (text, pair) in args.texts.iter().zip(&args.pairs) {
        let enc = match pair {
            Some(pair) => tok.encode_pair(text, pair, true)?,
            None => tok.encode(text, true)?,
        };
        let mut case = json!({ "text": text, "ids": enc.ids, "tokens": enc.tokens, "offsets": enc.offsets });
        if let Some(pair) = pair {
            // Which tokens are the second text's (their offsets index it), and BERT's segments.
            case["pair"] = json!(pair);
            case["type_ids"] = json!(enc.type_ids);
            case["second"] = json!(enc.second);
        }
        cases.push(case);
    }
    Ok(json!({ "cases": cases }))
}

fn transfer(args: &Args) -> Result<Value> {
    let data = args.data.as_deref().ok_or_else(|| Error::input("transfer needs --data", "Pass --data www/data/transfer-sentences.json"))?;
    cli_teach::transfer(&load(args)?.1, data)
}

fn load(args: &Args) -> Result<(FolderBytes, Session)> {
    let bytes = FolderBytes::read(&args.dir, args.random_weights.is_none())?;
    let mut session = Session::load_from(&bytes.files(), bytes.weights.as_ref().map(DiskWeights::source), args.random_weights, args.weights)?;
    session.unused_tensors.sort();
    if !session.unused_tensors.is_empty() {
        let _ = writeln!(std::io::stderr(), "note: {}", unused_tensors_note(&session.unused_tensors));
    }
    session.set_target_language(args.tgt_lang.as_deref())?;
    if let Some(code) = &args.src_lang {
        session.tokenizer.set_src_lang(code)?;
    }
    Ok((bytes, session))
}

/// The most numbers `inspect` writes as JSON over all its texts (each is a JSON value of about 65 bytes
/// in memory before it is written: about 4 GB at this bound).
const CLI_JSON_NUMBERS_MAX: usize = 1 << 26;

fn maps(m: &Option<AttentionMaps>) -> Value {
    match m {
        None => Value::Null,
        Some(m) => Value::Array(
            m.outer_iter()
                .map(|heads| Value::Array(heads.outer_iter().map(|map| Value::Array(map.outer_iter().map(|row| Value::Array(row.iter().map(|&x| float(x)).collect())).collect())).collect()))
                .collect(),
        ),
    }
}

/// A row-major buffer as a JSON `[rows][cols]` array (non-finite values become null).
fn matrix(data: &[f32], cols: usize) -> Value {
    if cols == 0 {
        return Value::Array(Vec::new());
    }
    Value::Array(data.chunks(cols).map(|r| Value::Array(r.iter().map(|&x| float(x)).collect())).collect())
}

fn float(x: f32) -> Value {
    serde_json::Number::from_f64(x as f64).map(Value::Number).unwrap_or(Value::Null)
}

fn inspect(args: &Args) -> Result<Value> {
    // The generation options of `inspect` act only through --generate: without it they would be read and do nothing.
    if args.generate.is_none() {
        let given: Vec<&str> = [("--num-beams", args.num_beams.is_some()), ("--length-penalty", args.length_penalty.is_some()), ("--tgt-lang", args.tgt_lang.is_some())]
            .into_iter()
            .filter_map(|(flag, set)| set.then_some(flag))
            .collect();
        if !given.is_empty() {
            let verb = if given.len() == 1 { "applies" } else { "apply" };
            return Err(Error::input(format!("{} {verb} to inspect only with --generate N", given.join(" and ")), "Add --generate N (the number of tokens to write), or leave it out"));
        }
    }
    let (_bytes, session) = load(args)?;
    let info = session.info().clone();
    let capture = Capture { probs: true, scores: args.scores };
    let mut cases = Vec::new();
    let mut numbers = 0usize; // written so far, over every text
    for (text, pair) in args.texts.iter().zip(&args.pairs) {
        let opts = glassbox::session::InspectOptions { decoder_ids: args.decoder_ids.clone(), capture, pair: pair.clone(), ..Default::default() };
        let ins = session.inspect_with(text, &opts)?;
        let o = &ins.outputs;
        // Each number becomes a JSON value of about 65 bytes before it is written: bound the total
        // (the forward pass's own capture is bounded by `limits::MAX_CAPTURED`).
        let len = |m: &Option<AttentionMaps>| m.as_ref().map_or(0, |m| m.len());
        let maps_len = len(&o.encoder_attentions) + len(&o.decoder_attentions) + len(&o.cross_attentions);
        numbers += maps_len * if args.scores { 2 } else { 1 } + o.last_hidden_state.len() + o.encoder_last_hidden_state.as_ref().map_or(0, Vec::len) + o.logits.as_ref().map_or(0, Vec::len);
        if numbers > CLI_JSON_NUMBERS_MAX {
            return Err(Error::input(
                format!("the JSON output would hold more than {CLI_JSON_NUMBERS_MAX} numbers (the attention maps of every layer and head, the hidden states and the logits of every token, for every text): several gigabytes of memory"),
                "Inspect fewer or shorter texts, or leave out --scores; `glassbox plot` draws one map of a long text",
            ));
        }
        let tokens: Vec<Option<&str>> = ins.encoding.ids.iter().map(|&id| session.tokenizer.id_to_token(id)).collect();
        let mut case = json!({
            "text": text,
            "ids": ins.encoding.ids,
            "tokens": tokens,
            "decoder_ids": ins.decoder_ids,
            "attentions": { "encoder": maps(&o.encoder_attentions), "decoder": maps(&o.decoder_attentions), "cross": maps(&o.cross_attentions) },
            "last_hidden_state": matrix(&o.last_hidden_state, session.model.last_state_width()),
            "encoder_last_hidden_state": o.encoder_last_hidden_state.as_ref().map_or(Value::Null, |h| matrix(h, info.d_model)),
            "logits": o.logits.as_ref().map_or(Value::Null, |l| matrix(l, session.model.decoder_vocab_size())),
            "generated_ids": Value::Null,
            "generated_text": Value::Null,
        });
        if args.scores {
            case["scores"] = json!({ "encoder": maps(&o.encoder_scores), "decoder": maps(&o.decoder_scores), "cross": maps(&o.cross_scores) });
        }
        if args.views {
            let dec = ins.decoder_ids.as_deref().unwrap_or(&ins.encoding.ids);
            let src = &ins.encoding.ids;
            let decoder_ids = if o.encoder_attentions.is_some() { dec } else { src };
            case["views"] = json!({
                "encoder": views(&o.encoder_attentions, MapKind::SelfAttention { causal: false }, src, src)?,
                "decoder": views(&o.decoder_attentions, MapKind::SelfAttention { causal: true }, decoder_ids, decoder_ids)?,
                "cross": views(&o.cross_attentions, MapKind::Cross, dec, src)?,
            });
            if let (Some(e), Some(d), Some(c)) = (&o.encoder_attentions, &o.decoder_attentions, &o.cross_attentions) {
                case["views"]["through_cross"] = cli_teach::cross_views(e, d, c)?;
            }
        }
        // ELECTRA discriminators: each token's "was it replaced?" logit.
        if let Some(replaced) = &o.replaced_logits {
            case["replaced_logits"] = json!(replaced.iter().map(|&x| float(x)).collect::<Vec<_>>());
        }
        // A classification head's scores: [labels], or [tokens][labels] for a token classifier.
        if let (Some(scores), Some(head)) = (&o.class_logits, session.model.classifier()) {
            case["class_logits"] = match head.task {
                glassbox::models::classifier::Task::Sequence => json!(scores.iter().map(|&x| float(x)).collect::<Vec<_>>()),
                _ => matrix(scores, head.labels.len()),
            };
        }
        // A question-answering model: its likeliest answers in the passage (the --pair text).
        if let (Some((answers, probs)), Some(passage)) = (session.answers(&ins, ANSWERS_SHOWN), pair) {
            case["answer_probs"] = json!({ "start": probs.starts.iter().map(|&x| float(x)).collect::<Vec<_>>(), "end": probs.ends.iter().map(|&x| float(x)).collect::<Vec<_>>() });
            let chars: Vec<char> = passage.chars().collect();
            case["answers"] = json!(answers
                .iter()
                .map(|a| {
                    let (from, to) = (ins.encoding.offsets[a.start].0, ins.encoding.offsets[a.end].1);
                    json!({ "start": a.start, "end": a.end, "score": float(a.score), "text": chars[from.min(chars.len())..to.min(chars.len())].iter().collect::<String>() })
                })
                .collect::<Vec<_>>());
        }
        if let Some(pair) = pair {
            // The second text, BERT's segment of each token, and which tokens are the second text's.
            case["pair"] = json!(pair);
            case["type_ids"] = json!(ins.encoding.type_ids);
            case["second"] = json!(ins.encoding.second);
        }
        if let Some(labels) = &args.zero_shot {
            let template = args.template.as_deref().unwrap_or(glassbox::session::ZERO_SHOT_TEMPLATE);
            let scores = session.zero_shot(text, labels, template, args.multi_label)?;
            case["zero_shot"] = json!({ "labels": labels, "template": template, "multi_label": args.multi_label, "scores": scores.iter().map(|&x| float(x)).collect::<Vec<_>>() });
        }
        if args.token_effects {
            // One run per token: how much hiding it lowers the verdict's probability.
            case["token_effects"] = serde_json::to_value(session.token_effects(text, pair.as_deref())?).unwrap_or(Value::Null);
        }
        if let Some(embedding) = session.sentence_embedding(&ins) {
            case["sentence_embedding"] = json!(embedding.iter().map(|&x| float(x)).collect::<Vec<_>>());
        }
        if let Some(n) = args.generate {
            // An encoder-only model cannot write: the same answer as `generate` gives, not silence.
            {
                // The model's generation settings apply (beams, penalties, forced tokens), never sampling.
                let request = GenerationRequest { max_new_tokens: Some(n), temperature: Some(0.0), ..args.request() };
                let ids = match session.plan(text, &request)? {
                    DecodingPlan::Stepwise(opts) => {
                        length_penalty_needs_beams(args)?;
                        note_position_limit(&session, text, opts.max_new_tokens)?;
                        session.generate(text, &opts, &mut |_| true)?.ids()
                    }
                    DecodingPlan::Beam(opts) => {
                        note_position_limit(&session, text, opts.max_new_tokens)?;
                        session.beam_search(text, &opts)?.hypotheses.into_iter().next().map(|h| h.ids).unwrap_or_default()
                    }
                };
                case["generated_text"] = json!(session.tokenizer.decode(&ids, true)?);
                case["generated_ids"] = json!(ids);
            }
        }
        cases.push(case);
    }
    Ok(json!({ "model": info.model_type, "kind": info.kind.as_str(), "cases": cases }))
}

/// How many answers `inspect` lists for a question-answering model.
const ANSWERS_SHOWN: usize = 3;

/// Up to this many tokens `inspect --views` gives the flow from every output token; beyond, from the
/// last one only (a maximum flow per pair of tokens: see `glassbox::teach::rollout`'s cost).
const FLOW_EVERY_OUTPUT_MAX: usize = 48;

/// `inspect --views` for one attention kind: pattern scores `[L][H][P]` and the head they pick;
/// for self-attention, rollout `[T][T]` and flow (a row per token of `flow_outputs`), or `flow_error`.
fn views(maps: &Option<AttentionMaps>, kind: MapKind, query_ids: &[u32], key_ids: &[u32]) -> Result<Value> {
    let Some(m) = maps else { return Ok(Value::Null) };
    let (l, h, t, k) = m.dim();
    let shape = [l, h, t, k];
    let flat = m.as_standard_layout(); // [L][H][Tq][Tk] row-major, the layout the views read
    let data = flat.as_slice().unwrap_or_default();
    let s = score_heads(data, shape, kind, query_ids, key_ids)?;
    let n = Pattern::ALL.len();
    let scores: Vec<Value> = s.scores.chunks(n * s.n_heads).map(|layer| json!(layer.chunks(n).map(|h| h.to_vec()).collect::<Vec<_>>())).collect();
    let best = s.best_head().map(|b| json!({ "layer": b.layer, "head": b.head, "pattern": b.pattern.as_str(), "score": b.score, "chance": b.chance }));
    let mut out = json!({
        "patterns": Pattern::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "chance": s.chance,
        "scores": scores,
        "best": best,
    });
    if let MapKind::SelfAttention { .. } = kind {
        out["rollout"] = matrix(&rollout::rollout(data, shape)?, t);
        // A maximum flow per (output, input) pair: every output of a short text, the last one of a long.
        let outputs: Vec<usize> = if t <= FLOW_EVERY_OUTPUT_MAX { (0..t).collect() } else { vec![t - 1] };
        match outputs.iter().map(|&o| rollout::flow(data, shape, o)).collect::<Result<Vec<_>>>() {
            Ok(rows) => {
                out["flow"] = matrix(&rows.concat(), t);
                out["flow_outputs"] = json!(outputs);
            }
            Err(e) => out["flow_error"] = json!(e.to_string()),
        }
    }
    Ok(out)
}

/// The model card, the same object as JS `model.info` (camelCase; see `glassbox::card`).
fn info(args: &Args) -> Result<Value> {
    let (bytes, session) = load(args)?;
    let card = ModelCard { weights: args.weights.map(glassbox::kernels::Storage::name), ..ModelCard::new(&session, bytes.weights.as_ref().map(DiskWeights::len)) };
    serde_json::to_value(card).map_err(|e| Error::input(format!("the model card could not be written ({e})"), "Report this as a bug"))
}

/// `plot`: one attention map (or every head as a grid) as a PNG, drawn by the page's rasteriser.
fn plot(args: &Args) -> Result<()> {
    let (_bytes, session) = load(args)?;
    let info = session.info().clone();
    let ins = session.inspect(&args.texts[0], args.decoder_ids.as_deref(), Capture::PROBS)?;
    let o = &ins.outputs;
    let default_kind = if o.encoder_attentions.is_some() { "encoder" } else { "decoder" };
    let kind = args.kind.as_deref().unwrap_or(default_kind);
    let (maps, mask) = match kind {
        "encoder" => (&o.encoder_attentions, Mask::None),
        "decoder" => (&o.decoder_attentions, Mask::Causal),
        "cross" => (&o.cross_attentions, Mask::None),
        _ => unreachable!("--kind checked in parse_args"),
    };
    let maps = maps.as_ref().ok_or_else(|| {
        let has: Vec<&str> = [("encoder", &o.encoder_attentions), ("decoder", &o.decoder_attentions), ("cross", &o.cross_attentions)]
            .iter()
            .filter(|(_, m)| m.is_some())
            .map(|(name, _)| *name)
            .collect();
        Error::input(format!("this {} model has no {kind} attention", info.kind.as_str()), format!("Use --kind {}", has.join(" or --kind ")))
    })?;
    let palette = match args.theme.as_str() {
        "light" => Palette::LIGHT,
        "dark" => Palette::DARK,
        _ => unreachable!("--theme checked in parse_args"),
    };
    let style = MapStyle::for_cell(args.cell);
    let image = match args.head.as_deref().unwrap_or("mean") {
        "all" => plot::grid_of_heads(maps, mask, style, args.cell.max(4), &palette)?,
        head => {
            // Layers and heads counted from 1, as the page, the widgets and lessons count them.
            let (layers, heads, _, _) = maps.dim();
            let layer = args.layer.unwrap_or(1);
            if layer == 0 || layer > layers {
                return Err(Error::input(
                    format!("layer {layer} does not exist: this map has layers 1 to {layers} (counted from 1, as on the page)"),
                    format!("Pick a layer from 1 to {layers}"),
                ));
            }
            let head = match head {
                "mean" => None,
                n => match n.parse::<usize>() {
                    Ok(n) if (1..=heads).contains(&n) => Some(n - 1),
                    Ok(n) => {
                        return Err(Error::input(
                            format!("head {n} does not exist: this layer has heads 1 to {heads} (counted from 1, as on the page)"),
                            format!("Pick a head from 1 to {heads}, mean or all"),
                        ))
                    }
                    Err(_) => unreachable!("--head checked in parse_args"),
                },
            };
            let values = plot::head_map(maps, layer - 1, head)?;
            {
                let (_, _, rows, cols) = maps.dim();
                plot::rasterize(&values, rows, cols, mask, style, &palette)?
            }
        }
    };
    let out = args.out.as_ref().expect("checked in parse_args");
    let fail = |e: String| Error::file(out.display().to_string(), format!("cannot be written ({e})"), "Check the folder exists and is writable");
    let file = std::fs::File::create(out).map_err(|e| fail(e.to_string()))?;
    let mut writer = std::io::BufWriter::new(file);
    plot::write_png(&image, &mut writer).map_err(fail)?;
    writer.flush().map_err(|e| fail(e.to_string()))?;
    writeln!(std::io::stdout(), "{}", json!({ "out": out.display().to_string(), "width": image.width, "height": image.height, "kind": kind })).map_err(stdout_failed)
}

/// What the CLI says of checkpoint tensors the model never read: the first few names and the count.
fn unused_tensors_note(unused: &[String]) -> String {
    const SHOWN: usize = 4;
    let names = unused.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    let more = if unused.len() > SHOWN { format!(" and {} more", unused.len() - SHOWN) } else { String::new() };
    format!(
        "{} tensor{} of the checkpoint {} not read by the model as config.json describes it ({names}{more}). \
         Check that config.json belongs to these weights (a smaller num_hidden_layers, say); if it does, they belong \
         to a part this model does not use here, such as a pretraining head or a vision tower",
        unused.len(),
        if unused.len() == 1 { "" } else { "s" },
        if unused.len() == 1 { "is" } else { "are" }
    )
}

/// `--length-penalty` scores finished beams: with one beam (no --num-beams, none in the model's settings)
/// it would change nothing, so it is refused rather than ignored.
fn length_penalty_needs_beams(args: &Args) -> Result<()> {
    match args.length_penalty {
        Some(_) => Err(Error::input("--length-penalty applies to beam search only, and this run keeps one beam", "Add --num-beams 2 or more, or leave --length-penalty out")),
        None => Ok(()),
    }
}

/// Generation stops when the position table is full: say so on stderr up front (`generate`, and
/// `inspect --generate`, whose JSON would otherwise just hold fewer ids) rather than stop short in silence.
fn note_position_limit(session: &Session, text: &str, max_new_tokens: usize) -> Result<()> {
    let is_decoder_only = session.info().kind == Kind::DecoderOnly;
    if let Some(max) = session.info().max_positions {
        let used = if is_decoder_only { session.encode(text)?.ids.len() } else { 1 };
        // No room at all is the generation's own error (it follows); a huge N does not wrap around.
        if used < max && used.saturating_add(max_new_tokens) > max {
            let _ = writeln!(std::io::stderr(), "note: {max_new_tokens} new tokens were asked for, but this model has positions for {max} tokens{}: generation stops when they are used up", if is_decoder_only { " (the prompt's included)" } else { " in its decoder" });
        }
    }
    Ok(())
}

/// Streams text to stdout as it is produced (the decoded suffix of all tokens so far, so
/// multi-byte characters split across tokens print whole).
fn generate_cmd(args: &Args) -> Result<()> {
    let (_bytes, session) = load(args)?;
    let opts = match session.plan(&args.texts[0], &args.request())? {
        DecodingPlan::Beam(opts) => {
            note_position_limit(&session, &args.texts[0], opts.max_new_tokens)?;
            return beam_cmd(args, &session, &opts);
        }
        DecodingPlan::Stepwise(opts) => opts,
    };
    length_penalty_needs_beams(args)?;
    note_position_limit(&session, &args.texts[0], opts.max_new_tokens)?;
    let is_decoder_only = session.info().kind == Kind::DecoderOnly;
    let mut stdout = std::io::stdout().lock();
    // A decoder-only model's prompt is printed with the first new text, once generating has begun: a
    // prompt with no room left fails before that, leaving stdout empty (no half-written output file).
    let mut prompt = if is_decoder_only { args.texts[0].as_str() } else { "" };
    let mut ids = Vec::new();
    let mut printed = String::new();
    let mut failure = None;
    session.generate(&args.texts[0], &opts, &mut |tok| {
        ids.push(tok.id);
        // A byte-fallback token (`<0xE2>`) joins the bytes before it: a later byte can turn the
        // text they made into replacement characters (HF's ByteFallback decodes a run of bytes as
        // one), so nothing is printed until a token that is not a byte ends the run.
        if session.tokenizer.is_byte_piece(tok.id) {
            return true;
        }
        match session.tokenizer.decode(&ids, true) {
            Ok(text) => {
                if text.starts_with(&printed) && !text.ends_with('\u{FFFD}') {
                    // Nobody reads the rest once stdout fails: stop generating and say so.
                    if let Err(e) = write!(stdout, "{}{}", std::mem::take(&mut prompt), &text[printed.len()..]).and_then(|_| stdout.flush()) {
                        failure = Some(stdout_failed(e));
                        return false;
                    }
                    printed = text;
                }
                true
            }
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let final_text = session.tokenizer.decode(&ids, true)?;
    match final_text.strip_prefix(printed.as_str()) {
        Some(rest) => write!(stdout, "{prompt}{rest}").map_err(stdout_failed)?,
        // Printed text that a later token rewrote (no decoder Glassbox knows does this once the
        // byte runs above are held back): say so and give the whole text rather than drop the rest.
        None => {
            eprintln!("note: the tokenizer rewrote text already printed as later tokens arrived; the whole generated text follows on a line of its own");
            write!(stdout, "\n{final_text}").map_err(stdout_failed)?;
        }
    }
    writeln!(stdout).and_then(|_| stdout.flush()).map_err(stdout_failed)
}

/// `generate --num-beams B`: beam search, then the best sequence (beams cannot be streamed: the
/// leader changes until the end).
fn beam_cmd(args: &Args, session: &Session, opts: &BeamOptions) -> Result<()> {
    let gen = session.beam_search(&args.texts[0], opts)?;
    let best = gen.hypotheses.first().map(|h| h.ids.clone()).unwrap_or_default();
    let text = session.tokenizer.decode(&best, true)?;
    let mut stdout = std::io::stdout().lock();
    if session.info().kind == Kind::DecoderOnly {
        write!(stdout, "{}", args.texts[0]).map_err(stdout_failed)?;
    }
    writeln!(stdout, "{text}").and_then(|_| stdout.flush()).map_err(stdout_failed)
}

#[cfg(test)]
mod tests {
    use super::DiskFile;
    use glassbox::loader::tensor_file::ReadAt;

    /// model.safetensors is read in place, a range at a time; a read of a file cut short after it
    /// was opened is an error with the byte it failed at, not zeros used silently.
    #[test]
    fn disk_file_reads_ranges_and_refuses_a_file_cut_short() {
        let dir = std::env::temp_dir().join(format!("glassbox-disk-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        let bytes: Vec<u8> = (0..200u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = DiskFile::open(&path).unwrap();
        assert_eq!(file.len(), 200);
        let mut got = [0u8; 16];
        file.read_at(100, &mut got).expect("inside the file");
        assert_eq!(&got, &bytes[100..116]);

        std::fs::write(&path, &bytes[..50]).unwrap();
        let err = file.read_at(100, &mut got).unwrap_err();
        assert!(err.problem.contains("cannot be read at byte 100") && err.problem.contains("cut short"), "{err:?}");
        assert!(err.fix.contains("nothing changes the file"), "{err:?}");
        file.read_at(10, &mut got).expect("what is still there reads");
        assert_eq!(&got, &bytes[10..26]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
