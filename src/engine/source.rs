//! The source layer: a file's text comes from an in-memory document (standard input, an editor
//! buffer, a fix in progress) when there is one, else from disk. Nothing else in the program
//! reads Python sources.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap as HashMap;

/// The text of a file, or why it cannot be had (a TEN901 message).
pub type Text = Result<String, String>;

#[derive(Default, Clone)]
pub struct Sources {
    documents: HashMap<PathBuf, Text>,
}

impl Sources {
    /// Let `text` stand for the file at `path` (which need not exist on disk).
    pub fn set_document(&mut self, path: PathBuf, text: Text) {
        self.documents.insert(path, text);
    }

    pub fn remove_document(&mut self, path: &Path) -> Option<Text> {
        self.documents.remove(path)
    }

    pub fn is_document(&self, path: &Path) -> bool {
        self.documents.contains_key(path)
    }

    pub fn documents(&self) -> impl Iterator<Item = &PathBuf> {
        self.documents.keys()
    }

    /// The file's text: its document, else the file on disk decoded as UTF-8 source.
    pub fn read(&self, path: &Path) -> Text {
        if let Some(doc) = self.documents.get(path) {
            return doc.clone();
        }
        read_disk(path)
    }

    /// Like [`Sources::read`], without copying a document.
    pub fn with_text<R>(&self, path: &Path, f: impl FnOnce(Result<&str, &str>) -> R) -> R {
        match self.documents.get(path) {
            Some(Ok(t)) => f(Ok(t)),
            Some(Err(e)) => f(Err(e)),
            None => match read_disk(path) {
                Ok(t) => f(Ok(&t)),
                Err(e) => f(Err(&e)),
            },
        }
    }
}

/// Read and decode a source file from disk.
pub fn read_disk(path: &Path) -> Text {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read file: {}", io_message(&e)))?;
    match decode(&bytes) {
        Ok(_) => Ok(String::from_utf8(bytes).unwrap_or_default()),
        Err(m) => Err(m),
    }
}

/// Decode file contents as UTF-8 text, rejecting binary data.
pub fn decode(bytes: &[u8]) -> Result<&str, String> {
    if bytes.contains(&0) {
        return Err("binary file (contains NUL bytes), not Python source".into());
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!(
            "file is not valid UTF-8 (invalid byte at line {line}, byte offset {})",
            e.valid_up_to()
        )
    })
}

pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "no such file".into(),
        _ => e.to_string(),
    }
}
