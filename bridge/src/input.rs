//! Input discovery: expands files and folders into FHIR inputs, one unit per resource.
//!
//! `.json` files hold one resource (a Bundle counts as one), `.ndjson` files one resource per
//! line, `.hl7` files one or more HL7 v2 messages (a batch). Folders are walked recursively in
//! name order; other files are skipped.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// How a file's content is split into resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON resource (or Bundle) per file.
    Json,
    /// One JSON resource per line.
    Ndjson,
    /// HL7 v2 messages (ER7), one or more (batch files with FHS/BHS too).
    Hl7v2,
}

/// One input file and its format.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// How to read it.
    pub format: InputFormat,
}

fn format_of(path: &Path) -> Option<InputFormat> {
    match path.extension()?.to_str()? {
        "json" => Some(InputFormat::Json),
        "ndjson" | "jsonl" => Some(InputFormat::Ndjson),
        "hl7" => Some(InputFormat::Hl7v2),
        _ => None,
    }
}

/// Expands `paths` (files or folders) into input files. A file named explicitly must have a
/// known extension; files in folders without one are skipped.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else {
            let format = format_of(path)
                .with_context(|| format!("{}: unknown file type (expected .json, .ndjson or .hl7)", path.display()))?;
            out.push(InputFile { path: path.clone(), format });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<InputFile>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if let Some(format) = format_of(&path) {
            out.push(InputFile { path, format });
        }
    }
    Ok(())
}

/// One resource's bytes and where it came from (`file` or `file:line`).
pub struct InputUnit<'a> {
    /// Human-readable origin.
    pub origin: String,
    /// The JSON text.
    pub bytes: &'a [u8],
    /// Where `bytes` lie in the file's content.
    pub range: std::ops::Range<usize>,
}

/// Splits a file's content into resources (v2: messages). A v2 file's content must be UTF-8
/// here: read it through [`ingest_pipeline::hl7v2::v2_text`] first.
pub fn units<'a>(file: &InputFile, content: &'a [u8]) -> Vec<InputUnit<'a>> {
    match file.format {
        InputFormat::Hl7v2 => {
            let Ok(text) = std::str::from_utf8(content) else { return Vec::new() };
            hl7v2::split_messages(text)
                .into_iter()
                .enumerate()
                .filter(|(_, m)| !m.trim().is_empty())
                .map(|(number, message)| {
                    let start = message.as_ptr() as usize - text.as_ptr() as usize;
                    InputUnit {
                        origin: format!("{}#{}", file.path.display(), number + 1),
                        bytes: message.as_bytes(),
                        range: start..start + message.len(),
                    }
                })
                .collect()
        }
        InputFormat::Json => {
            vec![InputUnit { origin: file.path.display().to_string(), bytes: content, range: 0..content.len() }]
        }
        InputFormat::Ndjson => {
            let mut out = Vec::new();
            let mut start = 0;
            for (number, line) in content.split(|b| *b == b'\n').enumerate() {
                let range = start..start + line.len();
                start = range.end + 1;
                if !line.iter().all(u8::is_ascii_whitespace) {
                    out.push(InputUnit {
                        origin: format!("{}:{}", file.path.display(), number + 1),
                        bytes: line,
                        range,
                    });
                }
            }
            out
        }
    }
}
