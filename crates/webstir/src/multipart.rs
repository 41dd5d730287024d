//! `multipart/form-data` bodies: text fields deserialized into a type, file parts streamed to
//! temporary files (never held in memory), all under the request's body-size cap.

use std::path::{Path, PathBuf};

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt as _;

use crate::{Error, Scope};

/// Most text fields a form may have.
const MAX_FIELDS: usize = 1000;
/// Largest text field, in bytes.
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// A `multipart/form-data` body (an HTML form with `enctype="multipart/form-data"`): its text
/// fields deserialized into `T` as an urlencoded form would be, and its file parts written to
/// temporary files as they arrive. The whole body counts against `REQUEST_BODY_MAX_BYTES`.
///
/// Rejections: 415 `unsupported_media_type` (not multipart, or no boundary), 400 `invalid_form`
/// (malformed parts, more than 1000 fields, a text field over 64 KiB, invalid UTF-8), 400
/// `validation` (fields that do not fit `T`), 413 `payload_too_large`.
///
/// ```
/// use webstir::extract::{Multipart, UploadedFile};
/// use webstir::{Reply, Result};
///
/// #[derive(serde::Deserialize)]
/// struct Profile {
///     name: String,
/// }
///
/// async fn upload(form: Multipart<Profile>) -> Result<Reply> {
///     let sizes: Vec<u64> = form.files.iter().map(UploadedFile::len).collect();
///     Ok(Reply::json(&serde_json::json!({ "name": form.fields.name, "sizes": sizes })))
/// }
/// # let _ = webstir::Route::post("/profile").handler(upload);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Multipart<T> {
    /// The text fields.
    pub fields: T,
    /// The file parts, in the order they came.
    pub files: Vec<UploadedFile>,
}

/// A file part of a multipart form, in a temporary file removed when this value drops (unless
/// [`UploadedFile::persist`] moved it).
#[derive(Debug)]
pub struct UploadedFile {
    field: String,
    file_name: Option<String>,
    content_type: Option<String>,
    path: PathBuf,
    len: u64,
    kept: bool,
}

impl UploadedFile {
    /// The form field's name.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The file name the browser sent, as given (never use it as a path unchecked).
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The part's content type, as the client declared it.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Where the bytes are now (a temporary file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the part was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The contents (reads the temporary file).
    ///
    /// # Errors
    /// The I/O error.
    pub async fn bytes(&self) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(&self.path).await
    }

    /// Moves the file to `to` (renamed when on the same file system, else copied); it is then
    /// yours and no longer removed.
    ///
    /// # Errors
    /// The I/O error; the temporary file is still removed on drop.
    pub async fn persist(mut self, to: impl AsRef<Path>) -> std::io::Result<()> {
        let to = to.as_ref();
        if tokio::fs::rename(&self.path, to).await.is_err() {
            tokio::fs::copy(&self.path, to).await?;
            let _ = tokio::fs::remove_file(&self.path).await;
        }
        self.kept = true;
        Ok(())
    }
}

impl Drop for UploadedFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::bad_request("invalid_form", message)
}

fn from_multer(err: &multer::Error, scope: &Scope) -> Error {
    if crate::extract::is_too_large(err) {
        return crate::extract::too_large(scope.body_limit());
    }
    match err {
        multer::Error::StreamReadFailed(_) => {
            Error::bad_request("bad_request", "The request body could not be read.")
        }
        other => invalid(format!(
            "The multipart body is malformed: {}",
            crate::extract::echo_long(&other.to_string())
        )),
    }
}

async fn temp_file() -> std::io::Result<(PathBuf, tokio::fs::File)> {
    let dir = std::env::temp_dir();
    loop {
        let path = dir.join(format!("webstir-upload-{:016x}", rand::random::<u64>()));
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
        {
            Ok(file) => return Ok((path, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        }
    }
}

impl<T: DeserializeOwned> FromRequest<Scope> for Multipart<T> {
    type Rejection = Error;

    async fn from_request(req: Request, scope: &Scope) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let boundary = multer::parse_boundary(&content_type).map_err(|_| {
            crate::extract::unsupported(
                "multipart/form-data (with a boundary)",
                Some(content_type.as_str()).filter(|c| !c.is_empty()),
            )
        })?;
        let stream = req.into_body().into_data_stream();
        let mut parts = multer::Multipart::new(stream, boundary);
        let mut text: Vec<(String, String)> = Vec::new();
        let mut files: Vec<UploadedFile> = Vec::new();
        while let Some(mut field) = parts
            .next_field()
            .await
            .map_err(|e| from_multer(&e, scope))?
        {
            if text.len() + files.len() >= MAX_FIELDS {
                return Err(invalid(format!(
                    "The form has more than {MAX_FIELDS} fields."
                )));
            }
            let name = field.name().unwrap_or_default().to_owned();
            if let Some(file_name) = field.file_name().map(str::to_owned) {
                let (path, mut file) = temp_file()
                    .await
                    .map_err(|e| Error::msg(format!("cannot create an upload file: {e}")))?;
                let mut upload = UploadedFile {
                    field: name,
                    file_name: Some(file_name),
                    content_type: field.content_type().map(ToString::to_string),
                    path,
                    len: 0,
                    kept: false,
                };
                while let Some(chunk) = field.chunk().await.map_err(|e| from_multer(&e, scope))? {
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| Error::msg(format!("cannot write an upload file: {e}")))?;
                    upload.len += chunk.len() as u64;
                }
                file.flush()
                    .await
                    .map_err(|e| Error::msg(format!("cannot write an upload file: {e}")))?;
                files.push(upload);
            } else {
                let mut value = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| from_multer(&e, scope))? {
                    if value.len() + chunk.len() > MAX_TEXT_FIELD {
                        return Err(invalid(format!(
                            "The form field '{}' is longer than {MAX_TEXT_FIELD} bytes.",
                            crate::extract::echo(&name)
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value = String::from_utf8(value).map_err(|_| {
                    invalid(format!(
                        "The form field '{}' is not valid UTF-8.",
                        crate::extract::echo(&name)
                    ))
                })?;
                text.push((name, value));
            }
        }
        scope.mark_body_done();
        let encoded = serde_urlencoded::to_string(&text)
            .map_err(|e| invalid(format!("The form fields cannot be read: {e}")))?;
        let fields = crate::extract::parse_form(encoded.as_bytes())?;
        Ok(Self { fields, files })
    }
}
