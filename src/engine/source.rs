//! The source layer: a file's text comes from an in-memory document (standard input, an editor
//! buffer, a fix in progress) when there is one, else from disk. Nothing else in the program
//! reads Python sources.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap as HashMap;

use crate::source_io::Stamp;

/// The text of a file, or why it cannot be had (a TEN901 message).
pub type Text = Result<String, String>;

#[derive(Clone)]
pub struct Sources {
    documents: HashMap<PathBuf, Text>,
    /// Files bigger than this are not read (`max-file-size`).
    max_file_size: u64,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            documents: HashMap::default(),
            max_file_size: crate::config::DEFAULT_MAX_FILE_SIZE,
        }
    }
}

impl Sources {
    pub fn with_max_file_size(mut self, max: u64) -> Sources {
        self.max_file_size = max;
        self
    }

    /// Let `text` stand for the file at `path` (which need not exist on disk).
    pub fn set_document(&mut self, path: PathBuf, text: Text) {
        self.documents.insert(path, text);
    }

    /// Forget the document for `path`: its text comes from disk again.
    pub fn remove_document(&mut self, path: &Path) -> bool {
        self.documents.remove(path).is_some()
    }

    /// The paths that have an in-memory document, sorted.
    pub fn documents(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.documents.keys().cloned().collect();
        paths.sort();
        paths
    }

    pub fn is_document(&self, path: &Path) -> bool {
        self.documents.contains_key(path)
    }

    /// The file's text: its document, else the file on disk decoded as UTF-8 source.
    pub fn read(&self, path: &Path) -> Text {
        if let Some(doc) = self.documents.get(path) {
            return doc.clone();
        }
        read_disk(path, self.max_file_size)
    }

    /// Like [`Sources::read`], without copying a document; with the stamp of the file on disk
    /// that was read (`None` for a document).
    pub fn with_text<R>(
        &self,
        path: &Path,
        f: impl FnOnce(Result<&str, &str>, Option<Stamp>) -> R,
    ) -> R {
        match self.documents.get(path) {
            Some(Ok(t)) => f(Ok(t), None),
            Some(Err(e)) => f(Err(e), None),
            None => match read_disk_stamped(path, self.max_file_size) {
                (Ok(t), stamp) => f(Ok(&t), stamp),
                (Err(e), stamp) => f(Err(&e), stamp),
            },
        }
    }

    /// The stamp of the file on disk at `path` when no document stands for it and it is a
    /// regular file this layer would read (within the size limit).
    pub fn disk_stamp(&self, path: &Path) -> Option<Stamp> {
        if self.documents.contains_key(path) {
            return None;
        }
        Stamp::of_path(path).filter(|s| s.len <= self.max_file_size)
    }
}

/// Read and decode a source file from disk: only regular files within `max_size`, only UTF-8
/// source (a coding declaration naming another codec makes it unreadable here, and so never
/// rewritten by a fix).
pub fn read_disk(path: &Path, max_size: u64) -> Text {
    read_disk_stamped(path, max_size).0
}

/// [`read_disk`], with the stamp of the file read (when it could be opened).
fn read_disk_stamped(path: &Path, max_size: u64) -> (Text, Option<Stamp>) {
    let (bytes, stamp) = match crate::source_io::read_source_stamped(path, max_size) {
        Ok(read) => read,
        Err(e) => return (Err(e.to_string()), None),
    };
    // Validate once: the coding rules on the raw bytes, then UTF-8 while taking ownership.
    let text = match String::from_utf8(bytes) {
        Ok(text) => decode(text.as_bytes()).map(|_| ()).map(|()| text),
        Err(e) => decode(e.as_bytes()).map(|_| String::new()),
    };
    (text, Some(stamp))
}

/// Decode file contents as Python source, the way CPython would (UTF-8, BOM, coding
/// declarations), rejecting binary data.
pub fn decode(bytes: &[u8]) -> Result<&str, String> {
    crate::source_io::decode_python(bytes)
}
